"""The Jobs page counts every run of every scheduled job (issue 9, case 8).

As seen: "alerts and notifications: 1 run in 24 h" while the log showed that tick every 10 s, and
8 probe sweeps against one every 5 s, because only the ticks that did something left a row.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from monitoring.models import Service
from opsportal.celery import app
from opsportal.models import JobTally
from opsportal.schedule import declared
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

RUNS = 3


@pytest.fixture(autouse=True)
def _tasks_loaded() -> None:
    app.loader.import_default_modules()  # autodiscovery is lazy outside a worker


def total_runs() -> int:
    return JobTally.objects.aggregate(n=Sum("runs"))["n"] or 0


def test_each_beat_entry_run_several_times_is_counted_each_time(client_for: Any) -> None:
    entries = declared()
    assert "monitoring: alerts and notifications" in {e.name for e in entries}
    assert "monitoring: dispatch due probes" not in {e.name for e in entries}  # the worker's dispatcher loop
    for entry in entries:
        for n in range(RUNS):
            before = total_runs()
            try:
                app.tasks[entry.task](**(entry.kwargs or {}))  # run in-process, as the worker would
            except Exception:  # noqa: BLE001 - a failed run (pip-audit offline, ...) is counted too
                assert total_runs() == before + 1 and JobTally.objects.filter(failed__gt=0).exists()
                continue
            assert total_runs() == before + 1, f"{entry.name}: run {n + 1} was not counted"
    assert total_runs() == RUNS * len(entries)
    page = client_for("viewer").get("/jobs/").content.decode()
    rows = dict(re.findall(r'\?kind=([^"]+)">[^<]+</a></td>.*?data-testid="runs-24h">(\d+)', page, re.S))
    by_kind = {k.replace("%3A", ":").replace("%20", " "): int(v) for k, v in rows.items()}
    tallies = dict(JobTally.objects.values("kind").annotate(n=Sum("runs")).values_list("kind", "n"))
    assert by_kind == tallies
    assert by_kind["alerts and notifications"] == RUNS  # idle ticks included


def test_idle_and_busy_sweeps_are_both_counted(client_for: Any) -> None:
    task = app.tasks["monitoring.dispatch_due_probes"]
    task()  # nothing due
    ServiceFactory(
        slug="api", name="API", url="http://127.0.0.1:9/health", timeout_seconds=1.0, next_due_at=timezone.now()
    )
    task()  # probes api (connection refused)
    Service.objects.update(next_due_at="2100-01-01T00:00:00Z")
    task()
    tally = JobTally.objects.get(kind="probe sweep")
    assert (tally.runs, tally.idle) == (3, 2)
    page = client_for("viewer").get("/jobs/").content.decode()
    assert "(2 found nothing to do)" in page
