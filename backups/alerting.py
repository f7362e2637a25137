"""Alerts for backups, raised and resolved through monitoring's public functions only."""

from __future__ import annotations

import logging
from typing import Any

from monitoring.public import raise_alert, resolve_alert

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


def run_failed(slug: str, run_id: int, reason: str, url: str) -> None:
    _safe(
        raise_alert,
        failed_key(slug),
        summary=f"Backup of {slug} failed: {reason}"[:300],
        source="backups",
        severity="critical",
        details={"policy": slug, "run": run_id, "reason": reason, "url": url},
        runbook=RUNBOOK_BACKUPS,
    )


def run_succeeded(slug: str, run_id: int) -> None:
    _safe(resolve_alert, failed_key(slug), note=f"backup run #{run_id} succeeded and was verified")


def verify_failed(slug: str, run_id: int, reason: str, url: str) -> None:
    _safe(
        raise_alert,
        verify_key(slug),
        summary=f"A stored backup of {slug} failed verification: {reason}"[:300],
        source="backups",
        severity="critical",
        details={"policy": slug, "run": run_id, "reason": reason, "url": url},
        runbook=RUNBOOK_BACKUPS,
    )


def verify_succeeded(slug: str, checked: int) -> None:
    _safe(resolve_alert, verify_key(slug), note=f"all {checked} kept backups verified")


def drill_failed(slug: str, drill_id: int, reason: str, url: str) -> None:
    _safe(
        raise_alert,
        drill_key(slug),
        summary=f"Restore drill of {slug} failed: {reason}"[:300],
        source="backups",
        severity="critical",
        details={"policy": slug, "drill": drill_id, "reason": reason, "url": url},
        runbook=RUNBOOK_DRILL,
    )


def drill_passed(slug: str, drill_id: int) -> None:
    _safe(resolve_alert, drill_key(slug), note=f"restore drill #{drill_id} passed")
