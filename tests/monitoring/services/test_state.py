"""Service status: thresholds and hysteresis (frozen time), compare-and-set, one flip per change."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from monitoring.models import Service, ServiceFlip
from monitoring.services.choices import ServiceStatus as S
from monitoring.services.probes import ProbeOutcome
from monitoring.services.state import Counters, next_status, pause, record_outcome, resume, sync_enabled
from tests.monitoring.services.factories import ServiceFactory

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def outcome(kind: str, at: dt.datetime | None = None) -> ProbeOutcome:
    at = at or dt.datetime.now(dt.UTC)
    if kind == "fail":
        return ProbeOutcome(1, at, ok=False, latency_ms=12.0, error="HTTP 500, expected 200-299", status_code=500)
    return ProbeOutcome(1, at, ok=True, latency_ms=2500.0 if kind == "slow" else 40.0, degraded=kind == "slow")


def run(kinds: list[str], status: str = S.UP, fail: int = 2, recover: int = 1) -> list[str]:
    counters, seen = Counters(), []
    for kind in kinds:
        status, counters, _reason = next_status(status, counters, fail, recover, outcome(kind))
        seen.append(status)
    return seen


def test_one_blip_does_not_make_a_service_down() -> None:
    assert run(["fail", "ok", "fail", "ok"]) == [S.UP] * 4
    assert run(["fail", "fail"]) == [S.UP, S.DOWN]


def test_recovery_needs_recover_threshold_passes_in_a_row() -> None:
    assert run(["ok", "fail", "ok", "ok", "ok"], status=S.DOWN, recover=3) == [S.DOWN] * 4 + [S.UP]
    assert run(["slow"], status=S.DOWN) == [S.DEGRADED]


def test_degraded_uses_the_same_hysteresis_for_slow_answers() -> None:
    assert run(["slow", "ok", "slow", "slow"]) == [S.UP, S.UP, S.UP, S.DEGRADED]
    assert run(["ok", "slow", "ok", "ok"], status=S.DEGRADED, recover=2) == [S.DEGRADED, S.DEGRADED, S.DEGRADED, S.UP]
    assert run(["fail", "fail"], status=S.DEGRADED) == [S.DEGRADED, S.DOWN]


def test_unknown_service_takes_its_first_answer_but_waits_for_failures() -> None:
    assert run(["ok"], status=S.UNKNOWN) == [S.UP]
    assert run(["slow"], status=S.UNKNOWN) == [S.DEGRADED]
    assert run(["fail", "fail"], status=S.UNKNOWN) == [S.UNKNOWN, S.DOWN]


@pytest.mark.django_db
def test_recorded_transitions_write_one_flip_each_with_reason_and_time() -> None:
    service = ServiceFactory(slug="api", fail_threshold=2, recover_threshold=2)
    kinds = ["ok", "fail", "fail", "fail", "ok", "ok", "ok"]
    with time_machine.travel(T0, tick=False) as clock:
        for kind in kinds:
            record_outcome(service, outcome(kind, dt.datetime.now(dt.UTC)))
            clock.shift(dt.timedelta(seconds=60))
    flips = list(ServiceFlip.objects.order_by("at").values_list("old_status", "new_status", "at"))
    assert flips == [
        (S.UNKNOWN, S.UP, T0),
        (S.UP, S.DOWN, T0 + dt.timedelta(minutes=2)),
        (S.DOWN, S.UP, T0 + dt.timedelta(minutes=5)),
    ]
    down = ServiceFlip.objects.get(new_status=S.DOWN)
    assert down.reason == "2 failed checks in a row: HTTP 500, expected 200-299"
    assert down.processed_at is None  # the alerting side picks it up
    service.refresh_from_db()
    assert (service.status, service.status_since) == (S.UP, T0 + dt.timedelta(minutes=5))
    assert service.consecutive_successes == 3 and service.consecutive_failures == 0


@pytest.mark.django_db
def test_a_stale_writer_loses_the_compare_and_set_and_no_second_flip_is_written() -> None:
    service = ServiceFactory(slug="api", fail_threshold=1)
    stale = Service.objects.get(pk=service.pk)
    with time_machine.travel(T0, tick=False):
        assert record_outcome(service, outcome("fail", T0)) is not None
        # A second worker with an old copy of the row applies the same failure under its old claim.
        Service.objects.filter(pk=service.pk).update(claim_token="someone-else")
        assert record_outcome(stale, outcome("fail", T0), claim_token="mine") is None
    assert ServiceFlip.objects.count() == 1
    assert Service.objects.get(pk=service.pk).consecutive_failures == 1


@pytest.mark.django_db
def test_a_stale_copy_is_reread_and_applied_once() -> None:
    service = ServiceFactory(slug="api", fail_threshold=2)
    stale = Service.objects.get(pk=service.pk)
    record_outcome(service, outcome("fail", T0))
    record_outcome(stale, outcome("fail", T0 + dt.timedelta(seconds=30)))  # re-reads, sees 1 failure, goes DOWN
    assert list(ServiceFlip.objects.values_list("new_status", flat=True)) == [S.DOWN]


@pytest.mark.django_db
def test_disable_pauses_and_enable_resumes_with_flips_and_drops_late_results() -> None:
    service = ServiceFactory(slug="api")
    record_outcome(service, outcome("ok"))
    Service.objects.filter(pk=service.pk).update(enabled=False)
    service.refresh_from_db()
    assert sync_enabled(service).new_status == S.PAUSED
    assert pause(service) is None  # already paused: no second flip
    assert record_outcome(service, outcome("fail")) is None
    Service.objects.filter(pk=service.pk).update(enabled=True)
    service.refresh_from_db()
    flip = resume(service)
    assert (flip.old_status, flip.new_status) == (S.PAUSED, S.UNKNOWN)
    service.refresh_from_db()
    assert service.next_due_at <= dt.datetime.now(dt.UTC)
    assert [f.new_status for f in ServiceFlip.objects.order_by("at", "id")] == [S.UP, S.PAUSED, S.UNKNOWN]


@pytest.mark.django_db
def test_saving_enabled_anywhere_pauses_and_resumes() -> None:
    """The Django admin or a shell saves the model directly: PAUSED still follows the flag."""
    service = ServiceFactory(slug="api", status=S.UP)
    service.enabled = False
    service.save()
    assert Service.objects.get(pk=service.pk).status == S.PAUSED
    service.name = "API renamed"
    service.save(update_fields=["name"])  # not touching "enabled": no flip
    service.enabled = True
    service.save()
    assert Service.objects.get(pk=service.pk).status == S.UNKNOWN
    assert [f.new_status for f in ServiceFlip.objects.order_by("at", "id")] == [S.PAUSED, S.UNKNOWN]
