"""Scheduling and concurrency: due times, one run per policy under two dispatchers, the reaper, metrics."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from backups import runner
from backups.choices import RunState, Trigger
from backups.dispatch import drill_all, reap_stale, run_due
from backups.metrics import backup_age_hours
from backups.models import BackupRun, Policy, RestoreDrill
from tests.backups import helpers
from tests.backups.conftest import open_alert

UTC = dt.UTC


@pytest.mark.django_db
def test_next_due_follows_the_cron_in_the_portal_time_zone(settings: Any, make_policy: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    policy = make_policy(schedule="0 2 * * *")
    after = dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert policy.next_after(after) == dt.datetime(2026, 6, 11, 0, 0, tzinfo=UTC)  # 02:00 CEST
    winter = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert policy.next_after(winter) == dt.datetime(2026, 1, 11, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert policy.next_due_at > timezone.now()
    old_due = policy.next_due_at
    policy.schedule = "30 4 * * 0"
    policy.save()
    assert policy.next_due_at != old_due and timezone.localtime(policy.next_due_at).weekday() == 6


@pytest.mark.django_db
def test_run_due_queues_due_enabled_policies_once(make_policy: Any) -> None:
    due = make_policy()
    later = make_policy()
    disabled = make_policy(enabled=False)
    past = timezone.now() - dt.timedelta(minutes=1)
    Policy.objects.filter(pk__in=[due.pk, disabled.pk]).update(next_due_at=past)
    sent: list[BackupRun] = []

    result = run_due(send=sent.append)
    assert [r.policy_id for r in sent] == [due.pk] and result.queued == [sent[0].pk]
    assert sent[0].state == RunState.QUEUED and sent[0].trigger == Trigger.SCHEDULE
    due.refresh_from_db()
    assert due.next_due_at > timezone.now()
    assert run_due(send=sent.append).queued == []  # moved on: not due again
    assert not later.runs.exists() and not disabled.runs.exists()

    # Due again while the first run is still active: skipped, not doubled.
    Policy.objects.filter(pk=due.pk).update(next_due_at=past)
    result = run_due(send=sent.append)
    assert result.skipped == [due.slug] and due.runs.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_and_two_workers_produce_one_run(pg_source_env: str, make_policy: Any) -> None:
    policy = make_policy()
    Policy.objects.filter(pk=policy.pk).update(next_due_at=timezone.now() - dt.timedelta(seconds=5))
    start = threading.Barrier(2)
    queued: list[int] = []
    lock = threading.Lock()

    def slow_send(run: BackupRun) -> None:
        with lock:
            queued.append(run.pk)
        time.sleep(0.5)  # hold the row lock while the other dispatcher looks

    def dispatcher() -> None:
        try:
            start.wait()
            run_due(send=slow_send)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(queued) == 1 and BackupRun.objects.filter(policy=policy).count() == 1
    run = BackupRun.objects.get(pk=queued[0])

    # Two workers receive the same task (a redelivery): only one claims and runs it.
    outcomes: list[str] = []
    go = threading.Barrier(2)

    def worker() -> None:
        try:
            go.wait()
            claimed = runner.claim_run(run.pk, task_id=run.celery_task_id)
            outcomes.append("skipped" if claimed is None else runner.execute_run(claimed).state)
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert sorted(outcomes) == ["good", "skipped"]
    assert BackupRun.objects.filter(policy=policy).count() == 1


@pytest.mark.django_db
def test_reaper_fails_runs_never_picked_up(make_policy: Any) -> None:
    policy = make_policy()
    run = runner.queue_run(policy, trigger=Trigger.SCHEDULE)
    assert reap_stale().runs == []  # fresh: left alone
    BackupRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(hours=5))
    assert reap_stale().runs == [run.pk]
    run.refresh_from_db()
    assert run.state == RunState.FAILED and "no worker" in run.error
    assert open_alert(f"backup:failed:{policy.slug}") is not None


@pytest.mark.django_db
def test_reaper_drops_the_scratch_database_of_a_dead_drill(pg_policy: Any) -> None:
    good = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    name = f"{helpers.PREFIX}dead_{good.pk}"
    with helpers.admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    old = timezone.now() - dt.timedelta(hours=1)
    drill = RestoreDrill.objects.create(
        policy=pg_policy, run=good, state="running", target_name=name, started_at=old, heartbeat_at=old
    )
    assert reap_stale().drills == [drill.pk]
    drill.refresh_from_db()
    assert drill.state == "failed" and drill.target_dropped
    assert not helpers.database_exists(name)
    assert open_alert(f"backup:drill:{pg_policy.slug}") is not None


@pytest.mark.django_db
def test_backup_age_metric_source(pg_policy: Any, make_policy: Any) -> None:
    from monitoring.alerts.public import metric_sources

    empty = make_policy()
    assert metric_sources()["backup_age_hours"] is backup_age_hours
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    BackupRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - dt.timedelta(hours=30))
    ages = backup_age_hours()
    assert 0 <= ages[f"policy:{empty.slug}"] < 0.1  # no good backup yet: counted from its creation
    assert 29.9 < ages[f"policy:{pg_policy.slug}"] < 30.1


@pytest.mark.django_db
def test_monthly_drill_dispatch_and_beat_entries(pg_policy: Any, make_policy: Any) -> None:
    from opsportal.celery import app
    from opsportal.schedule import declared

    nothing_yet = make_policy()
    runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    sent: list[RestoreDrill] = []
    outcome = drill_all(send=sent.append)
    assert [d.policy_id for d in sent] == [pg_policy.pk]
    assert outcome[nothing_yet.slug].startswith("not started")
    assert open_alert(f"backup:drill:{nothing_yet.slug}") is not None  # no good backup to prove: alert

    entries = {e.name: e for e in declared() if e.name.startswith("backups:")}
    assert set(entries) == {
        "backups: run due backups",
        "backups: re-verify kept backups",
        "backups: monthly restore drill",
        "backups: reap stale runs",
    }
    app.loader.import_default_modules()
    for entry in entries.values():
        assert entry.task in app.tasks


def test_scheduled_tasks_leave_a_job_row_the_jobs_page_shows(pg_policy: Any, client_for: Any) -> None:
    from django.urls import reverse

    from backups import tasks
    from opsportal.models import JobRun

    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    tasks.reverify_task()
    tasks.reverify_policy_task(pg_policy.pk)
    tasks.reap_task()
    tasks.run_due_task()
    jobs = {(j.kind, j.trigger): j for j in JobRun.objects.all()}
    weekly = jobs["backups: re-verify", "schedule"]
    assert weekly.state == JobRun.State.SUCCEEDED and weekly.finished_at is not None
    assert weekly.summary == "re-verified 1 kept backups, 0 failed"
    assert weekly.stats == {"checked": 1, "failed": 0, "policies": {pg_policy.slug: [True]}}
    assert jobs["backups: re-verify", "console"].stats["checked"] == 1
    assert set(jobs["backups: reap", "schedule"].stats) == {"runs", "drills", "cleaned"}
    assert set(jobs["backups: run due", "schedule"].stats) == {"queued", "skipped"}
    assert "backups: re-verify" in client_for("admin").get(reverse("jobs")).content.decode()
