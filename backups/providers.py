"""Facts backups offers other apps by name (monitoring.public.register_evidence), so maintenance
reads them without importing backups: the PostgreSQL sources and credential variables (names,
never values) for the security registry and database care, and the month's backup figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .choices import DrillKind, DrillState, RunState, SourceKind
from .models import BackupRun, Destination, RestoreDrill, Source


def postgres_sources(**_: Any) -> dict[str, Any]:
    """Every PostgreSQL source: slug, name and the variable holding its URL."""
    rows = Source.objects.filter(kind=SourceKind.POSTGRES).order_by("name")
    return {"ok": True, "sources": [{"slug": s.slug, "name": s.name, "url_env": s.url_env} for s in rows]}


def backup_credentials(**_: Any) -> dict[str, Any]:
    """The environment variables sources and destinations read credentials from, by name."""
    used: dict[str, list[str]] = {}
    for s in Source.objects.all():
        for name in s.env_names:
            used.setdefault(name, []).append(f"source {s.slug}")
    for d in Destination.objects.all():
        for name in d.env_names:
            used.setdefault(name, []).append(f"destination {d.slug}")
    return {"ok": True, "variables": [{"name": n, "used_by": u} for n, u in sorted(used.items())]}


def backup_report(*, start: dt.datetime, end: dt.datetime, **_: Any) -> dict[str, Any]:
    """Runs started in [start, end): how many finished good (pruned ones were good) or failed,
    and the last drill finished before ``end`` with its result."""
    runs = BackupRun.objects.filter(created_at__gte=start, created_at__lt=end)
    good = runs.filter(state__in=[RunState.GOOD, RunState.PRUNED]).count()
    failed = runs.filter(state=RunState.FAILED).count()
    finished = good + failed
    drill = (
        RestoreDrill.objects.filter(
            kind=DrillKind.DRILL, state__in=[DrillState.PASSED, DrillState.FAILED], finished_at__lt=end
        )
        .select_related("policy")
        .order_by("-finished_at")
        .first()
    )
    return {
        "ok": failed == 0 if finished else None,
        "runs": finished,
        "good": good,
        "failed": failed,
        "success_rate": good / finished if finished else None,
        "last_drill": (
            {
                "id": drill.pk,
                "at": drill.finished_at.isoformat(),
                "result": drill.state,
                "policy": drill.policy.name,
                "error": drill.error,
            }
            if drill
            else None
        ),
    }


def register() -> None:
    from monitoring.public import register_evidence

    register_evidence("postgres_sources", postgres_sources)
    register_evidence("backup_credentials", backup_credentials)
    register_evidence("backup_report", backup_report)
