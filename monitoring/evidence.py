"""Evidence providers of monitoring: the facts checklist items and incidents show, registered by name.

Each provider answers a JSON-able dict: ``ok`` (True/False, None when it cannot say), ``summary``
(one line), ``facts`` ([label, value] pairs), ``fresh`` (whether the facts are recent enough to
count as evidence) and provider-specific keys. Other apps read them through
``monitoring.public.evidence(name, **kwargs)`` and never import this module.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from opsportal.web import iso

from .alerts.models import Alert
from .alerts.public import register_evidence
from .metrics.models import Metric
from .services.choices import ServiceStatus
from .services.models import CheckRollup, Deployment, Resolution, Service
from .services.rollups import stats_from_rows


def services_now(**_: Any) -> dict[str, Any]:
    """Services up, degraded and down right now (paused ones counted apart)."""
    counts: dict[str, int] = defaultdict(int)
    down: list[str] = []
    for name, status in Service.objects.values_list("name", "status"):
        counts[status] += 1
        if status == ServiceStatus.DOWN:
            down.append(name)
    total = sum(counts.values())
    summary = f"{counts[ServiceStatus.UP]} up, {counts[ServiceStatus.DEGRADED]} degraded, {len(down)} down of {total}"
    facts = [["Up", counts[ServiceStatus.UP]], ["Degraded", counts[ServiceStatus.DEGRADED]], ["Down", len(down)]]
    for status in (ServiceStatus.UNKNOWN, ServiceStatus.PAUSED):
        if counts[status]:
            facts.append([status.label, counts[status]])
    if down:
        facts.append(["Down now", ", ".join(sorted(down)[:10])])
    return {
        "ok": None if not total else not down,
        "summary": summary,
        "facts": facts,
        "down": sorted(down),
        "fresh": bool(total),
    }


def _rollups(start: dt.datetime, end: dt.datetime) -> Any:
    # Minute rows for a day or less (they are kept a week), hour rows for longer periods.
    resolution = Resolution.MINUTE if end - start <= dt.timedelta(days=1, hours=1) else Resolution.HOUR
    return CheckRollup.objects.filter(resolution=resolution, start__gte=start, start__lt=end)


def error_rate(*, start: dt.datetime | None = None, end: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    """Probe error rate over the last 24 hours (or the period so far) against the Error Rate metric's target."""
    now = timezone.now()
    end = min(end or now, now)
    start = max(start or end - dt.timedelta(hours=24), end - dt.timedelta(hours=24))
    totals = _rollups(start, end).aggregate(n=Sum("count"), f=Sum("failures"))
    n, f = totals["n"] or 0, totals["f"] or 0
    metric = Metric.objects.filter(source_name="error_rate").first()
    target = metric.target if metric else 0.1
    alert_at = metric.alert_threshold if metric else 1.0
    if not n:
        return {"ok": None, "summary": "no probe results in the last 24 hours", "facts": [], "fresh": False}
    rate = 100.0 * f / n
    return {
        "ok": rate < alert_at,
        "summary": f"{rate:.2f} % errors over {n} checks (target < {target:g} %, alert > {alert_at:g} %)",
        "facts": [["Error rate", f"{rate:.2f} %"], ["Target", f"< {target:g} %"], ["Alert if", f"> {alert_at:g} %"]],
        "rate_percent": round(rate, 4),
        "target_percent": target,
        "meets_target": rate < target,
        "fresh": True,
    }


def service_performance(
    *, start: dt.datetime | None = None, end: dt.datetime | None = None, **_: Any
) -> dict[str, Any]:
    """p95 latency and uptime per service over the period (so far)."""
    now = timezone.now()
    end = min(end or now, now)
    start = start or end - dt.timedelta(days=7)
    per: dict[int, list[CheckRollup]] = defaultdict(list)
    for row in _rollups(start, end).order_by("start"):
        per[row.service_id].append(row)
    names = dict(Service.objects.filter(pk__in=per).values_list("pk", "name"))
    services = []
    for sid, rows in sorted(per.items(), key=lambda kv: names.get(kv[0], "")):
        stats = stats_from_rows(rows)
        services.append({"service": names.get(sid, str(sid)), **stats.as_dict()})
    if not services:
        return {"ok": None, "summary": "no probe results in this period", "facts": [], "services": [], "fresh": False}
    worst = min(s["uptime"] for s in services if s["uptime"] is not None)
    facts = [
        [
            s["service"],
            f"p95 {s['p95_ms'] if s['p95_ms'] is not None else 'n/a'} ms · uptime {100 * (s['uptime'] or 0):.2f} %",
        ]
        for s in services[:20]
    ]
    return {
        "ok": worst >= 0.99,
        "summary": f"{len(services)} services; lowest uptime {100 * worst:.2f} %",
        "facts": facts,
        "services": services,
        "fresh": True,
    }


def alert_facts(*, alert_id: int, **_: Any) -> dict[str, Any]:
    """One alert with its timeline, for incidents and post-mortems (ok: whether it is resolved)."""
    alert = Alert.objects.select_related("service").filter(pk=alert_id).first()
    if alert is None:
        return {"ok": None, "summary": f"alert #{alert_id} no longer exists", "facts": [], "found": False}
    events = [
        {"at": iso(e.at), "kind": e.kind, "actor": e.actor.get_username() if e.actor else "", "note": e.note[:2000]}
        for e in alert.events.select_related("actor").filter(channel__isnull=True)
    ]
    return {
        "ok": alert.state == "resolved",
        "found": True,
        "summary": alert.summary,
        "facts": [["State", alert.state], ["Severity", alert.severity], ["Started", iso(alert.started_at)]],
        "id": alert.pk,
        "dedup_key": alert.dedup_key,
        "severity": alert.severity,
        "state": alert.state,
        "runbook": alert.runbook,
        "service": alert.service.name if alert.service else "",
        "service_id": alert.service_id,
        "started_at": iso(alert.started_at),
        "resolved_at": iso(alert.resolved_at),
        "events": events,
    }


def deployments(*, start: dt.datetime, end: dt.datetime, service_id: int | None = None, **_: Any) -> dict[str, Any]:
    """Deployments reported between ``start`` and ``end`` (of one service when given)."""
    rows = Deployment.objects.select_related("service").filter(at__gte=start, at__lte=end)
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    items = [
        {"at": iso(d.at), "service": d.service.name, "version": d.version, "status": d.status}
        for d in rows.order_by("at")[:100]
    ]
    failed = [d for d in items if d["status"] == "failed"]
    return {
        "ok": not failed,
        "summary": f"{len(items)} deployments, {len(failed)} failed",
        "facts": [[d["at"], f"{d['service']} {d['version']} {d['status']}"] for d in items[:20]],
        "deployments": items,
        "fresh": True,
    }


def register() -> None:
    register_evidence("services_now", services_now)
    register_evidence("error_rate", error_rate)
    register_evidence("service_performance", service_performance)
    register_evidence("alert", alert_facts)
    register_evidence("deployments", deployments)
