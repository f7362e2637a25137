"""Core Celery tasks."""

from __future__ import annotations

import socket
from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(name="opsportal.ping")
def ping(payload: Any = None) -> dict[str, Any]:
    """Answer from the worker that consumed it: proves a broker round trip (used by tests and the admin)."""
    return {"pong": payload, "host": socket.gethostname(), "at": timezone.now().isoformat()}
