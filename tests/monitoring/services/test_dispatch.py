"""Dispatch: due services are claimed so that two dispatchers never probe one service twice."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from monitoring.models import CheckResult, Service
from monitoring.services.dispatch import claim_due, probe_now, run_due
from monitoring.services.slots import slot_at_or_after
from tests.monitoring.services.factories import ServiceFactory


def _in_thread(barrier: threading.Barrier, results: list[Any]) -> None:
    try:
        barrier.wait()
        results.append(run_due())
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rounds", range(3))
def test_two_dispatchers_on_one_due_service_probe_it_once(target: Any, rounds: int) -> None:
    service = ServiceFactory(
        slug="api", url=target.url("/slow?s=0.2"), next_due_at=timezone.now() - dt.timedelta(seconds=1)
    )
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    threads = [threading.Thread(target=_in_thread, args=(barrier, reports)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.probed for r in reports) == [0, 1]
    assert CheckResult.objects.filter(service=service).count() == 1
    assert [p for _m, p, _h in target.requests] == ["/slow"]


@pytest.mark.django_db
def test_a_claimed_service_is_not_claimed_again_until_its_claim_expires() -> None:
    ServiceFactory(slug="api", next_due_at=timezone.now() - dt.timedelta(seconds=5))
    token, won = claim_due()
    assert [s.slug for s in won] == ["api"]
    assert claim_due()[1] == []
    later = timezone.now() + dt.timedelta(minutes=5)  # the first worker died: its claim expired
    assert [s.slug for s in claim_due(now=later)[1]] == ["api"]
    assert token


@pytest.mark.django_db
def test_a_claim_lasts_past_the_longest_timeout_of_its_batch_and_leaves_the_rest() -> None:
    from monitoring.services.dispatch import CLAIM_MARGIN
    from monitoring.services.probes import SWEEP_GRACE_SECONDS

    now = timezone.now()
    for n, timeout in enumerate((2.0, 7.5, 3.0)):
        ServiceFactory(slug=f"s{n}", timeout_seconds=timeout, next_due_at=now - dt.timedelta(seconds=3 - n))
    ServiceFactory(slug="off", enabled=False, next_due_at=now - dt.timedelta(seconds=9))
    ServiceFactory(slug="later", next_due_at=now + dt.timedelta(seconds=30))
    token, won = claim_due(now=now, limit=2)
    assert [s.slug for s in won] == ["s0", "s1"]  # the two due longest, in due order
    until = now + dt.timedelta(seconds=7.5 + SWEEP_GRACE_SECONDS) + CLAIM_MARGIN
    assert {s.claimed_until for s in won} == {until} and {s.claim_token for s in won} == {token}
    rest = Service.objects.exclude(slug__in=["s0", "s1"])
    assert set(rest.values_list("claim_token", flat=True)) == {""}
    assert [s.slug for s in claim_due(now=now)[1]] == ["s2"]


@pytest.mark.django_db
def test_probing_advances_each_row_on_its_own_schedule(target: Any) -> None:
    due = timezone.now() - dt.timedelta(seconds=1)
    fast = ServiceFactory(slug="fast", url=target.url("/health"), interval_seconds=10, next_due_at=due)
    slow = ServiceFactory(slug="slow", url=target.url("/health"), interval_seconds=300, next_due_at=due)
    paused = ServiceFactory(slug="paused", url=target.url("/health"), enabled=False, next_due_at=due)
    future = ServiceFactory(
        slug="later", url=target.url("/health"), next_due_at=timezone.now() + dt.timedelta(minutes=1)
    )
    report = run_due()
    finished = timezone.now()
    assert report.probed == 2 and report.failed == 0
    fast.refresh_from_db(), slow.refresh_from_db(), paused.refresh_from_db(), future.refresh_from_db()
    for service, step in ((fast, 10), (slow, 300)):  # its next slot, at least half an interval after the claim
        # The claim came between ``due`` and ``finished``: on a slow machine half an interval from
        # the claim can pass one more slot boundary than half an interval from ``due``.
        earliest = slot_at_or_after(service, due + dt.timedelta(seconds=step / 2))
        latest = slot_at_or_after(service, finished + dt.timedelta(seconds=step / 2))
        assert earliest <= service.next_due_at <= latest
        assert service.next_due_at == slot_at_or_after(service, service.next_due_at)  # on its grid
        assert latest - earliest <= dt.timedelta(seconds=step)
    assert fast.claim_token == "" and fast.claimed_until is None
    assert paused.last_checked_at is None and future.last_checked_at is None
    assert run_due().probed == 0


@pytest.mark.django_db
def test_probe_now_skips_a_service_a_worker_is_probing(target: Any) -> None:
    service = ServiceFactory(slug="api", url=target.url("/health"))
    Service.objects.filter(pk=service.pk).update(
        claim_token="worker", claimed_until=timezone.now() + dt.timedelta(minutes=1)
    )
    report = probe_now([service])
    assert report.busy == ["api"] and report.probed == 0
    assert CheckResult.objects.count() == 0


@pytest.mark.django_db
def test_beat_tasks_dispatch_roll_up_and_prune(target: Any) -> None:
    from monitoring.services import tasks
    from opsportal.schedule import declared

    ServiceFactory(slug="api", url=target.url("/health"), next_due_at=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.dispatch_due_probes()["probed"] == 1
    assert tasks.rollup_history()["minutes"] == 1
    assert tasks.prune_history() == {"raw": 0, "minute_rollups": 0, "hour_day_rollups": 0}
    entries = {e.task: e for e in declared()}
    assert "monitoring.dispatch_due_probes" not in entries  # each worker's dispatcher loop does it
    assert entries["monitoring.rollup_history"].every_seconds == 60
    assert entries["monitoring.prune_history"].crontab == "17 * * * *"
