"""monitoring's public functions: the only way other apps raise and resolve alerts and offer
metric values. ``backups`` and ``maintenance`` import from here and nowhere else in monitoring.

- ``raise_alert(dedup_key, ...)``: open an alert, or refresh the open one with that key.
- ``resolve_alert(dedup_key, ...)``: resolve the open alert with that key, if any.
- ``register_metric_source(name, fn)``: a named provider of current metric values (for example
  "backup_age_hours" from backups) that the metric evaluator reads; no cross-import needed.
- ``metric_thresholds(key)``: the target and alert threshold of a metric as its editable row holds
  them now (``Thresholds.grade(value)`` says ok, missing or alerting), so another app's badges
  agree with what alerts.
- ``register_evidence(name, fn)`` / ``evidence(name, **kwargs)``: named providers of the facts a
  checklist item shows next to its box (latest backup run, current error rate); the app that owns
  the facts registers them in its ``ready()``, ``maintenance`` reads them by name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.alerts.choices import SEVERITY_RANK, AlertEventKind, AlertState, Severity
from monitoring.alerts.models import Alert, AlertEvent
from monitoring.services import thresholds
from monitoring.services.thresholds import Thresholds

log = logging.getLogger(__name__)


def metric_thresholds(key: str) -> Thresholds | None:
    """The target and alert threshold of metric ``key`` from its row (one query; call it once per page)."""
    return thresholds.read(key)


# A provider returns {series_label: value}, e.g. {"policy:nightly-db": 3.5}.
MetricSource = Callable[[], dict[str, float | None]]
_sources: dict[str, MetricSource] = {}


def register_metric_source(name: str, fn: MetricSource) -> None:
    _sources[name] = fn


def metric_sources() -> dict[str, MetricSource]:
    return dict(_sources)


# An evidence provider takes keyword arguments (for example ``start`` and ``end`` of a checklist
# period) and returns a JSON-serialisable dict: what the fact is now, with ``ok`` when it can say.
EvidenceProvider = Callable[..., dict[str, Any]]
_evidence: dict[str, EvidenceProvider] = {}


def register_evidence(name: str, fn: EvidenceProvider) -> None:
    """Register (or replace: calling it twice is harmless) the evidence provider ``name``."""
    _evidence[name] = fn


def evidence_providers() -> list[str]:
    return sorted(_evidence)


def evidence(name: str, **kwargs: Any) -> dict[str, Any] | None:
    """The provider's answer, or None when no provider has that name.

    A provider that fails is logged and answers ``{"ok": None, "error": ...}`` with a short
    message, so a broken provider never breaks the page that shows it.
    """
    fn = _evidence.get(name)
    if fn is None:
        return None
    try:
        return fn(**kwargs)
    except Exception:
        log.exception("evidence provider %s failed", name)
        return {"ok": None, "error": "evidence could not be read (see the server log)"}


def open_alert(dedup_key: str) -> Alert | None:
    return Alert.objects.filter(dedup_key=dedup_key).exclude(state=AlertState.RESOLVED).first()


def raise_alert(
    dedup_key: str,
    *,
    summary: str,
    source: str,
    severity: str = Severity.CRITICAL,
    details: dict[str, Any] | None = None,
    service: Any = None,
    runbook: str = "",
) -> Alert:
    """Open a firing alert for ``dedup_key``, or refresh the one already open.

    Safe under concurrency: the partial unique constraint lets only one insert win; the loser
    finds and refreshes the winner's alert. A higher severity on an open alert is recorded as
    an "updated" event (and notified again); otherwise refreshing writes no event.
    """
    now = timezone.now()
    for _attempt in range(3):
        existing = open_alert(dedup_key)
        if existing is not None:
            escalate = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(existing.severity, 0)
            changes: dict[str, Any] = {
                "last_seen_at": now,
                "summary": summary[:300],
                "details": details or existing.details,
            }
            if escalate:
                changes["severity"] = severity
            with transaction.atomic():
                Alert.objects.filter(pk=existing.pk).update(**changes)
                if escalate:
                    AlertEvent.objects.create(
                        alert=existing, kind=AlertEventKind.UPDATED, note=f"severity raised to {severity}"
                    )
            existing.refresh_from_db()
            return existing
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    dedup_key=dedup_key,
                    source=source,
                    severity=severity,
                    summary=summary[:300],
                    details=details or {},
                    service=service,
                    runbook=runbook,
                    started_at=now,
                    last_seen_at=now,
                )
                AlertEvent.objects.create(alert=alert, kind=AlertEventKind.FIRED, note=summary[:2000])
            return alert
        except IntegrityError:
            continue  # another worker opened it first: refresh theirs
    raise RuntimeError(f"could not raise or refresh alert {dedup_key!r}")


def resolve_alert(dedup_key: str, *, note: str = "", actor: Any = None) -> Alert | None:
    """Resolve the open alert for ``dedup_key``; returns it, or None when none was open."""
    alert = open_alert(dedup_key)
    if alert is None:
        return None
    return alert if alert.resolve(actor=actor, note=note) else None
