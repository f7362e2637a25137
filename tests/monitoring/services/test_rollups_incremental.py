"""Incremental rollups: each run adds only the results stored since the last (a mark on the result id),
exactly once, late ones into their own minute, hour and day; the same rows as a full recompute."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction

from monitoring.models import CheckResult, CheckRollup, Watermark
from monitoring.services.choices import Resolution
from monitoring.services.rollups import rollup
from tests.monitoring.services.factories import ServiceFactory, add_results

NOW = dt.datetime(2026, 3, 10, 12, 30, 20, tzinfo=dt.UTC)
COLUMNS = ("service_id", "resolution", "start", "count", "failures", "degraded", "latency_count", "histogram")


def _rows() -> list[tuple[Any, ...]]:
    rows = CheckRollup.objects.order_by("service_id", "resolution", "start").values_list(*COLUMNS, "latency_sum")
    return [(*r[:-1], round(r[-1], 3)) for r in rows]


def _recomputed() -> list[tuple[Any, ...]]:
    """The rows a first run (a full recompute from the raw results) writes, rolled back afterwards."""
    with transaction.atomic():
        CheckRollup.objects.all().delete()
        Watermark.objects.all().delete()
        rollup()
        rows = _rows()
        transaction.set_rollback(True)
    return rows


@pytest.mark.django_db
def test_runs_add_only_new_results_and_give_the_rows_of_a_full_recompute() -> None:
    rng = random.Random(3)
    services = [ServiceFactory(slug=f"s{i}") for i in range(4)]
    start = NOW - dt.timedelta(hours=2)
    for service in services:
        add_results(service, [rng.choice([None, 30.0, 80.0, 2600.0]) for _ in range(60)], start=start)
    with time_machine.travel(NOW, tick=False):
        assert rollup()["rebuilt"] == 1
    for minute in range(3):  # a minute of results for each service, then a run
        with time_machine.travel(NOW + dt.timedelta(minutes=minute + 1), tick=False):
            for service in services:
                at = NOW + dt.timedelta(minutes=minute, seconds=rng.randint(0, 59))
                add_results(service, [rng.choice([None, 12.0, 300.0])], start=at)
            summary = rollup()
            assert summary["results"] == len(services) and summary["minutes"] == len(services)
    with time_machine.travel(NOW + dt.timedelta(minutes=4), tick=False):
        again = rollup()
        assert (again["minutes"], again["hours"], again["days"]) == (0, 0, 0)
        assert _rows() == _recomputed()


@pytest.mark.django_db
def test_a_result_stored_late_is_counted_once_in_its_own_minute_hour_and_day() -> None:
    service = ServiceFactory(slug="api")
    add_results(service, [40.0, 50.0], start=NOW - dt.timedelta(minutes=3))
    with time_machine.travel(NOW, tick=False):
        rollup()
        # Checked two days ago, stored now (a sweep that hung, a restored backlog): far before the mark's time.
        late = NOW - dt.timedelta(days=2, minutes=7)
        add_results(service, [None], start=late)
        assert rollup()["results"] == 1
        rollup()
    day = CheckRollup.objects.get(resolution=Resolution.DAY, start=late.replace(hour=0, minute=0, second=0))
    hour = CheckRollup.objects.get(resolution=Resolution.HOUR, start=late.replace(minute=0, second=0))
    minute = CheckRollup.objects.get(resolution=Resolution.MINUTE, start=late.replace(second=0))
    assert (day.count, day.failures, hour.count, minute.count, minute.failures) == (1, 1, 1, 1, 1)
    today = CheckRollup.objects.get(resolution=Resolution.DAY, start=NOW.replace(hour=0, minute=0, second=0))
    assert (today.count, today.failures) == (2, 0)
    assert _rows() == _recomputed()


@pytest.mark.django_db
def test_a_run_costs_the_same_queries_however_long_the_history(django_assert_max_num_queries: Any) -> None:
    services = [ServiceFactory(slug=f"s{i}") for i in range(5)]
    for service in services:  # three days of history, one result a minute
        add_results(service, [25.0] * 3 * 24 * 60, start=NOW - dt.timedelta(days=3))
    with time_machine.travel(NOW, tick=False):
        rollup()
        for service in services:
            add_results(service, [30.0], start=NOW)
        # mark, lock + top, mark row lock, new results, then (stored rows, upsert) per level, mark moved
        with django_assert_max_num_queries(18) as captured:
            assert rollup()["results"] == 5
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "monitoring_checkresult"' in q["sql"]]
    assert all('"id" >' in sql or "MAX" in sql for sql in reads), reads


@pytest.mark.django_db(transaction=True)
def test_an_insert_still_uncommitted_when_a_run_starts_is_not_skipped() -> None:
    """Ids are taken at insert and seen at commit: id 2 may commit after id 3 was rolled up."""
    service = ServiceFactory(slug="api")
    add_results(service, [10.0], start=NOW - dt.timedelta(minutes=2))
    rollup()
    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                add_results(service, [20.0], start=NOW - dt.timedelta(minutes=1))
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(30)
    add_results(service, [30.0], start=NOW - dt.timedelta(minutes=1))  # a higher id, committed first
    summaries: list[dict[str, Any]] = []

    def run() -> None:
        try:
            summaries.append(rollup())
        finally:
            connection.close()

    runner = threading.Thread(target=run)
    runner.start()
    time.sleep(0.5)
    assert runner.is_alive()  # waiting for the open insert to end
    release.set()
    writer.join(30), runner.join(30)
    assert summaries[0]["results"] == 2
    assert sum(CheckRollup.objects.filter(resolution=Resolution.MINUTE).values_list("count", flat=True)) == 3
    assert CheckResult.objects.count() == 3
