"""Signals one app sends and another listens to, so peers (backups, maintenance) need not import each other."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by backups when a restore drill passes, after its row says so.
# Keyword arguments: drill_id (int), policy (slug), finished_at (aware datetime).
restore_drill_passed = Signal()
