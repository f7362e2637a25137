"""Rollups: minute/hour/day rows from raw results, percentiles vs exact ones, idempotency, pruning."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
import time_machine

from monitoring.models import CheckResult, CheckRollup
from monitoring.services.choices import Resolution
from monitoring.services.histogram import bucket_index, exact_quantile
from monitoring.services.rollups import prune, rollup, window_stats
from tests.monitoring.services.factories import ServiceFactory, add_results

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 12, 30, 20, tzinfo=dt.UTC)


def _rows(resolution: str) -> list[tuple[Any, ...]]:
    return list(
        CheckRollup.objects.filter(resolution=resolution)
        .order_by("service_id", "start")
        .values_list("service_id", "start", "count", "failures", "degraded", "latency_count", "histogram", "p95_ms")
    )


def test_window_percentiles_match_exact_percentiles_of_the_raw_data_within_a_bucket() -> None:
    rng = random.Random(7)
    service = ServiceFactory(slug="api")
    latencies: list[float | None] = []
    for _ in range(6 * 60):  # six hours, one result a minute, a long tail and some failures
        roll = rng.random()
        latencies.append(
            None if roll < 0.02 else (rng.lognormvariate(4.5, 0.6) if roll < 0.97 else rng.uniform(1500, 9000))
        )
    add_results(service, latencies, start=NOW - dt.timedelta(hours=6))
    with time_machine.travel(NOW, tick=False):
        rollup()
        stats = window_stats([service.pk], ["24h", "30d"])
    passed = [v for v in latencies if v is not None]
    for window in ("24h", "30d"):  # from hour rows and from day rows
        s = stats[window][service.pk]
        assert s.count == len(latencies)
        assert s.failures == latencies.count(None)
        for q, got in ((0.5, s.p50_ms), (0.95, s.p95_ms), (0.99, s.p99_ms)):
            assert got is not None
            assert bucket_index(got) == bucket_index(exact_quantile(passed, q)), (window, q)


def test_rollup_builds_every_resolution_and_is_idempotent() -> None:
    a, b = ServiceFactory(slug="a"), ServiceFactory(slug="b")
    add_results(a, [50.0, 60.0, None, 2500.0], start=NOW - dt.timedelta(minutes=90), step=dt.timedelta(minutes=30))
    add_results(b, [10.0] * 5, start=NOW - dt.timedelta(minutes=5))
    CheckResult.objects.filter(service=a, latency_ms=2500.0).update(degraded=True)
    with time_machine.travel(NOW, tick=False):
        first = rollup()
        snapshot = {r: _rows(r) for r in Resolution.values}
        rollup()
        rollup()
    assert first["minutes"] == 9
    assert {r: _rows(r) for r in Resolution.values} == snapshot
    hours = {
        (sid, start.hour): (count, failures, degraded) for sid, start, count, failures, degraded, *_ in snapshot["hour"]
    }
    assert hours == {(a.pk, 11): (2, 0, 0), (a.pk, 12): (2, 1, 1), (b.pk, 12): (5, 0, 0)}
    days = snapshot["day"]
    assert [(sid, count, failures) for sid, _s, count, failures, *_ in days] == [(a.pk, 4, 1), (b.pk, 5, 0)]


def test_results_written_late_are_rolled_into_their_minute() -> None:
    service = ServiceFactory(slug="api")
    add_results(service, [100.0], start=NOW - dt.timedelta(minutes=1))
    with time_machine.travel(NOW, tick=False):
        rollup()
    # A slow sweep stores a result for a minute that was already rolled up.
    add_results(service, [300.0], start=NOW - dt.timedelta(minutes=1, seconds=-10))
    with time_machine.travel(NOW + dt.timedelta(minutes=2), tick=False):
        rollup()
    minute = CheckRollup.objects.get(
        resolution=Resolution.MINUTE, start=NOW.replace(second=0) - dt.timedelta(minutes=1)
    )
    assert minute.count == 2
    assert CheckRollup.objects.get(resolution=Resolution.HOUR).count == 2


def test_prune_keeps_raw_for_the_retention_and_rollups_for_400_days(settings: Any) -> None:
    settings.RAW_RETENTION_DAYS = 7
    service = ServiceFactory(slug="api")
    old_day = NOW - dt.timedelta(days=8)
    add_results(service, [20.0, 30.0], start=old_day)
    add_results(service, [40.0], start=NOW - dt.timedelta(minutes=3))
    ancient = CheckRollup.objects.create(
        service=service, resolution=Resolution.DAY, start=NOW - dt.timedelta(days=401), count=1
    )
    with time_machine.travel(NOW, tick=False):
        rollup()
        summary = prune()
        again = prune()
    assert summary["raw"] == 2 and summary["hour_day_rollups"] == 1 and summary["minute_rollups"] == 2
    assert again == {"raw": 0, "minute_rollups": 0, "hour_day_rollups": 0}
    assert list(CheckResult.objects.values_list("latency_ms", flat=True)) == [40.0]
    assert not CheckRollup.objects.filter(pk=ancient.pk).exists()
    # The old day's statistics survive in the hour and day rollups.
    assert CheckRollup.objects.filter(resolution=Resolution.DAY, start__date=old_day.date(), count=2).exists()
    assert CheckRollup.objects.filter(resolution=Resolution.HOUR, start__lt=NOW - dt.timedelta(days=7)).exists()


def test_prune_never_deletes_raw_results_that_were_not_rolled_up(settings: Any) -> None:
    settings.RAW_RETENTION_DAYS = 1
    service = ServiceFactory(slug="api")
    add_results(service, [20.0] * 3, start=NOW - dt.timedelta(days=3))
    with time_machine.travel(NOW, tick=False):
        assert prune()["raw"] == 0
    assert CheckResult.objects.count() == 3
