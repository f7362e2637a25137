"""Recording a sweep in bulk: the same states and flips as row by row, the same compare-and-set, few statements."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from monitoring.models import CheckResult, Service, ServiceFlip
from monitoring.services.choices import ServiceStatus as S
from monitoring.services.dispatch import claim_due
from monitoring.services.probes import ProbeOutcome
from monitoring.services.record import record_sweep
from monitoring.services.state import record_outcome
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
# Per service: one result kind a minute (f = failed, s = slow, o = fast), and its thresholds.
SCRIPTS = {
    "a": ("oofffooo", 2, 1),
    "b": ("ffooffff", 1, 2),
    "c": ("ssossooo", 2, 2),
    "d": ("fsfsfsfs", 2, 1),
    "e": ("oooooooo", 3, 3),
}


def result(service: Service, kind: str, at: dt.datetime) -> ProbeOutcome:
    if kind == "f":
        return ProbeOutcome(service.pk, at, ok=False, latency_ms=9.0, status_code=503, error="HTTP 503, expected 200")
    return ProbeOutcome(service.pk, at, ok=True, latency_ms=2500.0 if kind == "s" else 30.0, degraded=kind == "s")


def _state(slug: str) -> tuple[Any, ...]:
    return tuple(Service.objects.filter(slug=slug).values_list(*Service.STATE_FIELDS, "claim_token")[0])


def _flips(prefix: str) -> list[tuple[Any, ...]]:
    return list(
        ServiceFlip.objects.filter(service__slug__startswith=prefix)
        .order_by("service__slug", "at")
        .values_list("service__slug", "at", "old_status", "new_status", "reason", "processed_at")
    )


def test_a_bulk_sweep_writes_exactly_the_states_and_flips_of_one_result_at_a_time() -> None:
    for name, (_kinds, fail, recover) in SCRIPTS.items():
        ServiceFactory(slug=f"bulk-{name}", fail_threshold=fail, recover_threshold=recover, next_due_at=T0)
        ServiceFactory(slug=f"row-{name}", fail_threshold=fail, recover_threshold=recover, next_due_at=T0)
    for minute in range(8):
        now = T0 + dt.timedelta(minutes=minute)
        with time_machine.travel(now, tick=False):
            token, claimed = claim_due(now=now)
            bulk = [s for s in claimed if s.slug.startswith("bulk-")]
            due = now + dt.timedelta(minutes=1)
            items = [(s, result(s, SCRIPTS[s.slug[5:]][0][minute], now), due) for s in bulk]
            record_sweep(items, token)
            for service in (s for s in claimed if s.slug.startswith("row-")):
                outcome = result(service, SCRIPTS[service.slug[4:]][0][minute], now)
                record_outcome(service, outcome, claim_token=token, next_due_at=due)
    for name in SCRIPTS:
        assert _state(f"bulk-{name}") == _state(f"row-{name}"), name
    by_row = [(slug[4:], *rest) for slug, *rest in _flips("row-")]
    assert [(slug[5:], *rest) for slug, *rest in _flips("bulk-")] == by_row
    assert len(by_row) >= 8  # the scripts do flip
    assert CheckResult.objects.filter(service__slug__startswith="bulk-").count() == 8 * len(SCRIPTS)


def test_one_sweep_is_a_fixed_number_of_statements(django_assert_max_num_queries: Any) -> None:
    ServiceFactory.create_batch(40, next_due_at=T0)
    with time_machine.travel(T0, tick=False):
        token, claimed = claim_due(now=T0)
        items = [(s, result(s, "f" if s.pk % 3 else "o", T0), T0 + dt.timedelta(minutes=1)) for s in claimed]
        with django_assert_max_num_queries(5):  # results, savepoint, update, flips, release of the savepoint
            flips = record_sweep(items, token)
    assert len(flips) == len([s for s in claimed if s.pk % 3 == 0])  # UNKNOWN -> UP on a first pass
    assert not Service.objects.exclude(claim_token="").exists()


def test_losers_of_the_compare_and_set_are_read_again_and_reapplied_or_dropped() -> None:
    moved = ServiceFactory(slug="moved", fail_threshold=2, next_due_at=T0)
    taken = ServiceFactory(slug="taken", fail_threshold=1, next_due_at=T0)
    paused = ServiceFactory(slug="paused", fail_threshold=1, next_due_at=T0)
    calm = ServiceFactory(slug="calm", fail_threshold=1, next_due_at=T0)
    with time_machine.travel(T0, tick=False):
        token, claimed = claim_due(now=T0)
    assert len(claimed) == 4
    # After the claim, a heartbeat-style writer stores a failure for "moved" (its row changes under us),
    # another worker takes over "taken" (its claim expired), and "paused" is disabled.
    earlier = T0 + dt.timedelta(seconds=5)
    Service.objects.filter(pk=moved.pk).update(last_checked_at=earlier, consecutive_failures=1, last_ok=False)
    Service.objects.filter(pk=taken.pk).update(claim_token="someone-else")
    Service.objects.filter(pk=paused.pk).update(enabled=False)
    at = T0 + dt.timedelta(seconds=10)
    due = T0 + dt.timedelta(minutes=1)
    flips = record_sweep([(s, result(s, "f", at), due) for s in claimed], token)
    assert sorted(f.service.slug for f in flips) == ["calm", "moved"]
    moved.refresh_from_db(), taken.refresh_from_db(), paused.refresh_from_db(), calm.refresh_from_db()
    # Re-read and re-applied on top of the other writer's failure: two in a row, DOWN.
    assert (moved.status, moved.consecutive_failures, moved.last_checked_at) == (S.DOWN, 2, at)
    assert (taken.status, taken.last_checked_at, taken.claim_token) == (S.UNKNOWN, None, "someone-else")
    assert (paused.last_checked_at, paused.consecutive_failures) == (None, 0)
    assert (calm.status, calm.next_due_at, calm.claim_token) == (S.DOWN, due, "")
    assert ServiceFlip.objects.filter(service=taken).count() == 0
    assert CheckResult.objects.count() == 4  # every result is history, written or not
    assert timezone.is_aware(moved.status_since)
