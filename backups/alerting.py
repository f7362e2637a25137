"""Alerts for backups, raised and resolved through monitoring's public functions only."""

from __future__ import annotations

import logging
from typing import Any

from monitoring.alerts.public import raise_alert, resolve_alert

log = logging.getLogger(__name__)

RUNBOOK_BACKUPS = "Backups & Recovery"
RUNBOOK_DRILL = "Disaster Recovery Test"


def failed_key(slug: str) -> str:
    return f"backup:failed:{slug}"


def verify_key(slug: str) -> str:
    return f"backup:verify:{slug}"


def drill_key(slug: str) -> str:
    return f"backup:drill:{slug}"


def _safe(fn: Any, *args: Any, **kwargs: Any) -> None:
    # An alert that cannot be written must not hide the failure it reports: log it loudly.
    try:
        fn(*args, **kwargs)
    except Exception:
        log.exception("could not update alert %s", args[0] if args else "?")


def _raise(key: str, summary: str, runbook: str, details: dict[str, Any]) -> None:
    # Every backup alert is critical: a backup that failed or cannot be restored is data at risk.
    _safe(
        raise_alert, key, summary=summary[:300], source="backups", severity="critical", details=details, runbook=runbook
    )


def run_failed(slug: str, run_id: int, reason: str, url: str) -> None:
    details = {"policy": slug, "run": run_id, "reason": reason, "url": url}
    _raise(failed_key(slug), f"Backup of {slug} failed: {reason}", RUNBOOK_BACKUPS, details)


def run_succeeded(slug: str, run_id: int) -> None:
    _safe(resolve_alert, failed_key(slug), note=f"backup run #{run_id} succeeded and was verified")


def verify_failed(slug: str, run_id: int, reason: str, url: str) -> None:
    details = {"policy": slug, "run": run_id, "reason": reason, "url": url}
    _raise(verify_key(slug), f"A stored backup of {slug} failed verification: {reason}", RUNBOOK_BACKUPS, details)


def verify_succeeded(slug: str, checked: int) -> None:
    _safe(resolve_alert, verify_key(slug), note=f"all {checked} kept backups verified")


def drill_failed(slug: str, drill_id: int, reason: str, url: str) -> None:
    details = {"policy": slug, "drill": drill_id, "reason": reason, "url": url}
    _raise(drill_key(slug), f"Restore drill of {slug} failed: {reason}", RUNBOOK_DRILL, details)


def drill_passed(slug: str, drill_id: int) -> None:
    _safe(resolve_alert, drill_key(slug), note=f"restore drill #{drill_id} passed")
