"""Monitoring models, one module per area; import from here."""

from __future__ import annotations

from .alerts import Alert, AlertEvent
from .services import Service, ServiceFlip, Tag

__all__ = ["Alert", "AlertEvent", "Service", "ServiceFlip", "Tag"]
