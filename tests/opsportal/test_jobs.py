"""Scheduled work leaves JobRun rows (state, timings, figures, errors) that the Jobs page shows."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from opsportal.jobs import log_finished_job, prune_job_runs, record_job
from opsportal.models import JobRun

pytestmark = pytest.mark.django_db


def test_record_job_success_keeps_figures() -> None:
    with record_job("rollup history") as job:
        assert JobRun.objects.get(pk=job.run.pk).state == JobRun.State.RUNNING
        job.stats = {"minutes": 3, "when": timezone.now()}
        job.summary = "3 minutes rolled up"
    run = JobRun.objects.get(pk=job.run.pk)
    assert run.state == "succeeded" and run.finished_at is not None and run.duration_ms >= 0
    assert run.stats["minutes"] == 3 and isinstance(run.stats["when"], str)
    assert run.summary == "3 minutes rolled up"


def test_record_job_failure_keeps_short_error_and_reraises() -> None:
    with pytest.raises(RuntimeError), record_job("prune history") as job:
        raise RuntimeError("disk on fire")
    run = JobRun.objects.get(pk=job.run.pk)
    assert run.state == "failed" and run.error == "RuntimeError: disk on fire"
    assert "Traceback" not in run.error


def test_log_finished_job_and_prune() -> None:
    started = time.perf_counter()
    log_finished_job("alerts and notifications", started, {"sent": 2}, "sent 2")
    with time_machine.travel(timezone.now() - dt.timedelta(days=30)):
        log_finished_job("alerts and notifications", time.perf_counter(), {"sent": 1})
        stuck = JobRun.objects.create(kind="probe sweep")
    with time_machine.travel(timezone.now() - dt.timedelta(days=2)):
        crashed = JobRun.objects.create(kind="probe sweep")
    deleted = prune_job_runs()
    assert deleted == 2  # the 30-day-old finished run and the stuck one, once closed
    assert not JobRun.objects.filter(pk=stuck.pk).exists()
    crashed.refresh_from_db()
    assert crashed.state == "failed" and "worker lost" in crashed.error
    assert JobRun.objects.filter(summary="sent 2").exists()


def test_jobs_page_summarises_each_kind(client_for: Any) -> None:
    for _ in range(3):
        with record_job("probe sweep") as job:
            job.summary = "probed 5, 0 failed"
    with pytest.raises(ValueError), record_job("evaluate metrics"):
        raise ValueError("bad threshold")
    page = client_for("viewer").get(reverse("jobs"))
    assert page.status_code == 200
    summary = {s["kind"]: s for s in page.context["summary"]}
    assert summary["probe sweep"]["runs_24h"] == 3 and summary["probe sweep"]["failed_24h"] == 0
    assert summary["evaluate metrics"]["failed_24h"] == 1
    assert b"ValueError: bad threshold" in page.content
    filtered = client_for("viewer").get(reverse("jobs"), {"kind": "evaluate metrics", "state": "failed"})
    assert [r.kind for r in filtered.context["page"]] == ["evaluate metrics"]


def test_probe_dispatch_records_a_sweep_only_when_something_was_due(users: dict[str, Any]) -> None:
    from monitoring.models import Service
    from monitoring.services import tasks

    assert tasks.dispatch_due_probes() == {"claimed": 0}
    assert not JobRun.objects.exists()
    Service.objects.create(
        name="Closed port",
        slug="closed",
        check_type="tcp",
        host="127.0.0.1",
        port=1,
        timeout_seconds=1,
        next_due_at=timezone.now(),  # new services are spread over their interval; this one is due now
    )
    report = tasks.dispatch_due_probes()
    assert report["probed"] == 1 and report["failed"] == 1
    run = JobRun.objects.get(kind="probe sweep")
    assert run.state == "succeeded" and run.stats["probed"] == 1 and "1 failed" in run.summary


@pytest.mark.parametrize("kinds", [2, 8])
def test_jobs_page_query_count_does_not_grow_with_kinds(
    kinds: int, client_for: Any, django_assert_num_queries: Any
) -> None:
    for k in range(kinds):
        for _ in range(3):
            log_finished_job(f"job {k}", time.perf_counter(), {"n": k})
    client = client_for("viewer")
    client.get(reverse("jobs"))  # warm the session and permission caches
    with django_assert_num_queries(9):  # the same for 2 and for 8 kinds
        page = client.get(reverse("jobs"))
    assert len(page.context["summary"]) == kinds
    assert all(s["runs_24h"] == 3 and len(s["strip"]) == 3 for s in page.context["summary"])
