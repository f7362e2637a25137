"""Hourly rollups of agent runs (``AgentRunHour``), recomputed from the raw runs, and reading them back.

``rollup()`` runs every minute: it finds the (agent, hour) buckets that received runs since the
last rollup (with a margin, so a run committed late is not missed) and recomputes each of them
whole from the raw runs, so running it twice changes nothing. Pages read the rollups plus the
runs of the current hour that are not rolled up yet.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from ..services.histogram import Histogram
from .choices import QaVerdict
from .ingest import RunRow
from .models import AgentRun, AgentRunHour

MARGIN = dt.timedelta(minutes=2)
UNIT_MS = 10.0  # histogram unit: durations are counted in tens of milliseconds


def _hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def buckets_of(runs: list[Any]) -> list[AgentRunHour]:
    """The rollup rows of a complete set of runs (every run of the buckets they fall in)."""
    rows: dict[tuple[int, dt.datetime, str], AgentRunHour] = {}
    hists: dict[tuple[int, dt.datetime, str], Histogram] = defaultdict(Histogram)
    now = timezone.now()
    for run in runs:
        key = (run.agent_id, _hour(run.started_at), run.provider)
        row = rows.get(key)
        if row is None:
            row = rows[key] = AgentRunHour(agent_id=key[0], hour=key[1], provider=key[2], computed_at=now)
        row.runs += 1
        row.failed += 0 if run.ok else 1
        row.without_calls += 0 if run.model_calls else 1
        if run.qa_verdict in (QaVerdict.APPROVED, QaVerdict.REJECTED):
            row.reviewed += 1
            row.rejected += run.qa_verdict == QaVerdict.REJECTED
        if run.quality_score is not None:
            row.quality_sum += run.quality_score
            row.quality_count += 1
        if run.critique_iterations is not None:
            row.critique_max = max(row.critique_max or 0, run.critique_iterations)
        row.duration_sum_ms += run.duration_ms
        row.duration_max_ms = max(row.duration_max_ms or 0.0, run.duration_ms)
        hists[key].add(max(run.duration_ms / UNIT_MS, 1.0))
        row.tokens_in += run.tokens_in or 0
        row.tokens_out += run.tokens_out or 0
        row.cost_usd += run.cost_usd or 0.0
    for key, row in rows.items():
        row.histogram = hists[key].to_json()
    return list(rows.values())


FIELDS = (
    "agent_id",
    "started_at",
    "provider",
    "ok",
    "model_calls",
    "qa_verdict",
    "quality_score",
    "critique_iterations",
    "duration_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
)


def rollup(now: dt.datetime | None = None) -> int:
    """Recompute every bucket that received runs since the last rollup; returns how many rows were written."""
    now = now or timezone.now()
    last = AgentRunHour.objects.aggregate(last=Max("computed_at"))["last"]
    fresh = AgentRun.objects.all() if last is None else AgentRun.objects.filter(received_at__gte=last - MARGIN)
    touched = set(
        fresh.annotate(h=TruncHour("started_at", tzinfo=dt.UTC)).order_by().values_list("agent_id", "h").distinct()
    )
    if not touched:
        return 0
    where = Q(pk__in=[])
    for agent_id, hour in touched:
        where |= Q(agent_id=agent_id, started_at__gte=hour, started_at__lt=hour + dt.timedelta(hours=1))
    runs = [RunRow(**values) for values in AgentRun.objects.filter(where).values(*FIELDS).iterator(chunk_size=5000)]
    rows = buckets_of(runs)
    with transaction.atomic():
        clear = Q(pk__in=[])
        for agent_id, hour in touched:
            clear |= Q(agent_id=agent_id, hour=hour)
        AgentRunHour.objects.filter(clear).delete()
        AgentRunHour.objects.bulk_create(rows, batch_size=1000)
        if not rows:  # nothing left in those hours (pruned): keep the watermark moving
            AgentRunHour.objects.filter(computed_at=last).update(computed_at=now)
    return len(rows)


@dataclass
class Summary:
    """An agent's runs over a period, merged from rollup rows."""

    runs: int = 0
    failed: int = 0
    reviewed: int = 0
    rejected: int = 0
    duration_sum_ms: float = 0.0
    histogram: Histogram = field(default_factory=Histogram)
    last_hour: dt.datetime | None = None

    def add(self, row: AgentRunHour) -> None:
        self.runs += row.runs
        self.failed += row.failed
        self.reviewed += row.reviewed
        self.rejected += row.rejected
        self.duration_sum_ms += row.duration_sum_ms
        self.histogram.merge(row.histogram)
        if row.duration_max_ms is not None:
            top = row.duration_max_ms / UNIT_MS
            self.histogram.max_ms = max(self.histogram.max_ms or 0.0, top)
        self.last_hour = max(self.last_hour or row.hour, row.hour)

    @property
    def p95_ms(self) -> float | None:
        value = self.histogram.quantile(0.95)
        return None if value is None else value * UNIT_MS

    @property
    def avg_ms(self) -> float | None:
        return self.duration_sum_ms / self.runs if self.runs else None


def hour_rows(since: dt.datetime, until: dt.datetime, agent_ids: Any = None) -> list[AgentRunHour]:
    rows = AgentRunHour.objects.filter(hour__gte=_hour(since), hour__lte=until)
    if agent_ids is not None:
        rows = rows.filter(agent_id__in=agent_ids)
    return list(rows.defer("computed_at"))


def summaries(rows: list[AgentRunHour]) -> dict[int, Summary]:
    out: dict[int, Summary] = defaultdict(Summary)
    for row in rows:
        out[row.agent_id].add(row)
    return out
