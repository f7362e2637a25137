"""The beat scheduler: django-celery-beat's DatabaseScheduler plus a beat heartbeat."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler

from .celery import HEARTBEAT_EVERY, _beat

log = logging.getLogger(__name__)


class PortalScheduler(DatabaseScheduler):
    """Schedules are rows admins edit; each tick also records that beat is alive."""

    _last_heartbeat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            try:
                _beat("beat", f"beat:{socket.gethostname()}")
                self._last_heartbeat = now
            except Exception:
                log.exception("beat heartbeat failed")
        interval = super().tick(*args, **kwargs)
        return min(interval, HEARTBEAT_EVERY)
