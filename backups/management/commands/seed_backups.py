"""``python manage.py seed_backups``: the zero-setup self-backup policy (idempotent; make run uses it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from backups.setup import protect_portal
from opsportal import audit


class Command(BaseCommand):
    help = "Create the nightly backup policy of the portal's own database into DATA_DIR/backups, once."

    def handle(self, *args: Any, **options: Any) -> None:
        with audit.acting(None):
            policy, created = protect_portal()
        verb = "created" if created else "already exists"
        self.stdout.write(f"Backup policy '{policy.name}' {verb}: {policy.source} -> {policy.destination}.")
