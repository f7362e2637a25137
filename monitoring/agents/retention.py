"""Retention of the log store and of agent runs, model calls and provider checks.

Log lines are kept LOG_RETENTION_DAYS and at most LOG_MAX_LINES_PER_SERVICE per service (the
newest); runs and model calls AGENT_RUN_RETENTION_DAYS (hourly rollups 400 days); provider checks 7 days. Deletes go in
chunks so a large backlog never holds one long transaction.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.utils import timezone

from . import conf
from .models import AgentRun, AgentRunHour, LogLine, ModelCall, ProviderCheck

CHUNK = 20000


def _delete_chunks(queryset: object) -> int:
    deleted = 0
    model = queryset.model  # type: ignore[attr-defined]
    while True:
        ids = list(queryset.values_list("id", flat=True)[:CHUNK])  # type: ignore[attr-defined]
        if not ids:
            return deleted
        deleted += model.objects.filter(id__in=ids).delete()[0]


def prune_logs(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete lines older than the retention age, then each service's lines beyond the newest N."""
    now = now or timezone.now()
    aged = _delete_chunks(LogLine.objects.filter(at__lt=now - dt.timedelta(days=conf.LOG_RETENTION_DAYS.get())))
    limit = conf.LOG_MAX_LINES_PER_SERVICE.get()
    over = 0
    crowded = LogLine.objects.values("service_id").annotate(n=Count("id")).filter(n__gt=limit)
    for row in crowded:
        cutoff = (
            LogLine.objects.filter(service_id=row["service_id"]).order_by("-at", "-id").values_list("at", "id")[limit]
        )
        older = (
            LogLine.objects.filter(service_id=row["service_id"])
            .filter(at__lte=cutoff[0])
            .exclude(at=cutoff[0], id__gt=cutoff[1])
        )
        over += _delete_chunks(older)
    return {"logs_aged": aged, "logs_over_count": over}


def prune(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    stats = prune_logs(now)
    runs_cutoff = now - dt.timedelta(days=conf.AGENT_RUN_RETENTION_DAYS.get())
    stats["runs"] = _delete_chunks(AgentRun.objects.filter(started_at__lt=runs_cutoff))
    stats["run_hours"] = _delete_chunks(AgentRunHour.objects.filter(hour__lt=now - dt.timedelta(days=400)))
    stats["model_calls"] = _delete_chunks(ModelCall.objects.filter(at__lt=runs_cutoff))
    stats["provider_checks"] = _delete_chunks(ProviderCheck.objects.filter(at__lt=now - dt.timedelta(days=7)))
    return stats
