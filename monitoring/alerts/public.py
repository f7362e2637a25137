"""monitoring's public functions: the only way other apps raise and resolve alerts and offer
metric values. ``backups`` and ``maintenance`` import from here and nowhere else in monitoring.

- ``raise_alert(dedup_key, ...)``: open an alert, or refresh the open one with that key.
- ``resolve_alert(dedup_key, ...)``: resolve the open alert with that key, if any.
- ``hold_reason(alert)``: why an alert's notifications are held now ("" when they are not); the
  same rule the notifier applies to every alert (``holds.py``).
- ``age_since(last, origin)``: how every "age" metric counts (from the last good one, else from creation).
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

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from monitoring.alerts.choices import SEVERITY_RANK, AlertEventKind, AlertState, Severity
from monitoring.alerts.holds import INHIBIT_BY_DOWN, OUTAGE_ALERT, hold_reason, open_outage
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


def age_since(last: dt.datetime | None, origin: dt.datetime, now: dt.datetime | None = None) -> float:
    """The value of an "age" metric (Backup Age, ...): hours since ``last`` (the last good one), or
    since ``origin`` (when the thing was created) when there never was a good one. A thing that never
    succeeded therefore ages like one that stopped succeeding at its creation, and alerts on time
    (the runbook's Backup Age > 48 h) instead of having no value at all."""
    now = now or timezone.now()
    return round((now - (last or origin)).total_seconds() / 3600, 3)


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
    reopens: Alert | None = None,
) -> Alert:
    """Open a firing alert for ``dedup_key``, or refresh the one already open.

    Holds apply to every alert whatever its source: pass ``service`` and the alert is held while
    that service is paused, in maintenance, under a down parent or silenced (``holds.py``
    decides; the reason is stored at once so every page shows it). ``details["inhibit"] =
    "service_down"`` marks a page that the service's own open down alert inhibits.

    Refreshing keeps the alert live: summary, details and ``last_seen_at`` follow each call. The
    timeline gets an entry only when ``details["breaching"]`` changes (the value crossed the
    threshold again), or when the severity rises (notified again).

    Safe under concurrency: the partial unique constraint lets only one insert win; the loser
    finds and refreshes the winner's alert.
    """
    now = timezone.now()
    details = dict(details or {})
    for _attempt in range(3):
        existing = open_alert(dedup_key)
        if existing is not None:
            _refresh(existing, summary, severity, details, now)
            existing.refresh_from_db()
            return existing
        if details.get("inhibit") == INHIBIT_BY_DOWN and service is not None:
            outage = open_outage(getattr(service, "pk", service))
            if outage is not None:
                details[OUTAGE_ALERT] = outage
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    dedup_key=dedup_key,
                    source=source,
                    severity=severity,
                    summary=summary[:300],
                    details=details,
                    service=service,
                    runbook=runbook,
                    started_at=now,
                    last_seen_at=now,
                    reopens=reopens,
                )
                note = summary
                if reopens is not None:
                    note = f"opened again: the condition still holds after alert #{reopens.pk} was resolved by hand. {summary}"
                AlertEvent.objects.create(alert=alert, kind=AlertEventKind.FIRED, note=note[:2000])
                if service is not None and dedup_key.startswith("service:") and dedup_key.endswith(":down"):
                    _join_outage(alert)
                held = hold_reason(alert, now)
                if held:
                    Alert.objects.filter(pk=alert.pk).update(held_reason=held[:200])
                    alert.held_reason = held[:200]
            return alert
        except IntegrityError:
            continue  # another worker opened it first: refresh theirs
    raise RuntimeError(f"could not raise or refresh alert {dedup_key!r}")


def _join_outage(down: Alert) -> None:
    """Pages of the service that opened a moment before its down alert (a burn rate judged at the
    first failed checks, before the second one made it down) belong to the same outage too."""
    for other in Alert.objects.filter(service_id=down.service_id, details__inhibit=INHIBIT_BY_DOWN).exclude(
        state=AlertState.RESOLVED
    ):
        if OUTAGE_ALERT not in (other.details or {}):
            Alert.objects.filter(pk=other.pk).update(details={**other.details, OUTAGE_ALERT: down.pk})


def _refresh(existing: Alert, summary: str, severity: str, details: dict[str, Any], now: Any) -> None:
    escalate = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(existing.severity, 0)
    old = existing.details or {}
    merged = {**old, **details} if details else old
    if OUTAGE_ALERT in old:
        merged[OUTAGE_ALERT] = old[OUTAGE_ALERT]  # born in an outage: stays part of it
    changes: dict[str, Any] = {"last_seen_at": now, "summary": summary[:300], "details": merged}
    if escalate:
        changes["severity"] = severity
    crossed = "breaching" in details and "breaching" in old and bool(details["breaching"]) != bool(old["breaching"])
    with transaction.atomic():
        Alert.objects.filter(pk=existing.pk).update(**changes)
        if escalate:
            AlertEvent.objects.create(
                alert=existing, kind=AlertEventKind.UPDATED, note=f"severity raised to {severity}"
            )
        if crossed:
            what = "past the threshold again" if details["breaching"] else "back within the threshold, not yet clear"
            AlertEvent.objects.create(
                alert=existing,
                kind=AlertEventKind.UPDATED,
                at=now,
                note=f"{what}: {summary}"[:2000],
                dispatched_at=now,
                dispatch_note="timeline only",
            )


def refresh_alerts(rows: list[tuple[str, str, dict[str, Any]]], now: Any = None) -> int:
    """Keep many open alerts live in one statement: (dedup key, summary, details) each.

    For callers that know nothing crossed (``details["breaching"]`` unchanged) and the severity did
    not rise: no timeline entry is due, so this is a plain update of summary, details (merged into
    the stored ones) and ``last_seen_at``. Returns how many alerts were updated.
    """
    if not rows:
        return 0
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        changed = 0
        for key, summary, details in rows:
            alert = open_alert(key)
            if alert is not None:
                merged = {**(alert.details or {}), **details}
                changed += Alert.objects.filter(pk=alert.pk).update(
                    summary=summary[:300], details=merged, last_seen_at=now
                )
        return changed
    table = Alert._meta.db_table
    values = ", ".join(["(%s, %s, %s::jsonb)"] * len(rows))
    params: list[Any] = []
    for key, summary, details in rows:
        params += [key, summary[:300], json.dumps(details, default=str)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET summary = v.summary, details = a.details || v.details, last_seen_at = %s "  # noqa: S608 - table name from the model
            f"FROM (VALUES {values}) AS v(key, summary, details) "
            "WHERE a.dedup_key = v.key AND a.state <> 'resolved'",
            [now, *params],
        )
        return cursor.rowcount


def resolve_alert(dedup_key: str, *, note: str = "", actor: Any = None) -> Alert | None:
    """Resolve the open alert for ``dedup_key``; returns it, or None when none was open."""
    alert = open_alert(dedup_key)
    if alert is None:
        return None
    return alert if alert.resolve(actor=actor, note=note) else None


def last_resolved_by_hand(dedup_key: str) -> Alert | None:
    """The newest alert with this key that a person resolved (what a reopened alert links to)."""
    return (
        Alert.objects.filter(dedup_key=dedup_key, state=AlertState.RESOLVED, resolved_by__isnull=False)
        .order_by("-resolved_at", "-id")
        .first()
    )
