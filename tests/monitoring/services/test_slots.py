"""Probe slots: new services spread over their interval, and each probed once per interval from the first minute on."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import Counter
from typing import Any

import pytest
import time_machine

from monitoring.models import CheckResult, Service
from monitoring.services.dispatch import claim_due, probe_claimed
from monitoring.services.dispatcher import Dispatcher
from monitoring.services.import_export import import_services
from monitoring.services.slots import after_probe, first_due, slot_at_or_after
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 10, 9, 0, 0, 250000, tzinfo=dt.UTC)
STEP = 60
PASS = 5


def test_new_and_imported_services_are_spread_over_their_interval() -> None:
    with time_machine.travel(T0, tick=False):
        made = ServiceFactory.create_batch(300)
        report = import_services(
            {"services": [{"slug": f"imp-{i}", "name": f"Imp {i}", "url": "http://127.0.0.1:9/"} for i in range(300)]}
        )
    assert report.ok
    dues = list(Service.objects.values_list("next_due_at", flat=True))
    assert len(dues) == 600 and all(T0 <= d < T0 + dt.timedelta(seconds=STEP) for d in dues)
    per_pass = Counter(int((d - T0).total_seconds()) // PASS for d in dues)
    assert len(per_pass) == STEP // PASS and max(per_pass.values()) < 100  # 50 a pass on average, not 600 at once
    service = made[0]
    assert service.next_due_at == first_due(service, T0) == slot_at_or_after(service, service.next_due_at)
    # The offset is the service's own: an interval later, the same phase; after a probe, the next slot.
    assert slot_at_or_after(service, T0 + dt.timedelta(seconds=STEP)) == service.next_due_at + dt.timedelta(
        seconds=STEP
    )
    probed_at = service.next_due_at + dt.timedelta(seconds=2)
    assert after_probe(service, probed_at) == service.next_due_at + dt.timedelta(seconds=STEP)


def _evenly_spread(n: int) -> list[Service]:
    """n services whose offsets are spaced evenly over the interval (ping keys chosen for it)."""
    step_us = STEP * 1_000_000
    return [ServiceFactory(ping_key=uuid.UUID(int=k * step_us // n + 12345)) for k in range(n)]


@pytest.mark.parametrize("registered_before", [PASS, 40, 3600])
def test_services_registered_before_the_worker_starts_are_probed_once_per_interval(
    target: Any, registered_before: int
) -> None:
    """N services, the worker passing every 5 s for 3 intervals: each probed exactly 3 times, none twice in a minute."""
    n = 24
    started = T0 + dt.timedelta(seconds=registered_before)
    with time_machine.travel(T0, tick=False):
        services = _evenly_spread(n)
        Service.objects.update(url=target.url("/health"))
    dispatcher = Dispatcher(PASS)
    per_pass = []
    for k in range(3 * STEP // PASS):
        now = started + dt.timedelta(seconds=k * PASS)
        with time_machine.travel(now, tick=False):
            report = dispatcher.pass_once(now)
        per_pass.append(report.probed if report else 0)
    probes = Counter(CheckResult.objects.values_list("service_id", flat=True))
    assert probes == {s.pk: 3 for s in services}
    assert max(per_pass) <= n * PASS // STEP  # no herd: 2 a pass
    for service in services:
        times = sorted(CheckResult.objects.filter(service=service).values_list("at", flat=True))
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(STEP - PASS <= g <= STEP + PASS for g in gaps), gaps


def test_a_beat_style_tick_probes_what_came_due_and_moves_what_was_left_long_ago(target: Any) -> None:
    """Without a previous pass to go by, a due time more than 10 s old is stale: moved to its next slot."""
    with time_machine.travel(T0, tick=False):
        fresh = ServiceFactory(url=target.url("/health"), next_due_at=T0 - dt.timedelta(seconds=4))
        stale = ServiceFactory(  # its slots fall 20 s into each minute: the next is 19.75 s after T0
            url=target.url("/health"), next_due_at=T0 - dt.timedelta(minutes=30), ping_key=uuid.UUID(int=20_000_000)
        )
        token, claimed = claim_due(now=T0)
        report = probe_claimed(claimed, token)
    assert (report.probed, report.rescheduled) == (1, 1)
    stale.refresh_from_db(), fresh.refresh_from_db()
    assert CheckResult.objects.get().service == fresh
    assert stale.next_due_at == T0 + dt.timedelta(seconds=19.75) and stale.claim_token == ""
    assert T0 + dt.timedelta(seconds=STEP / 2) <= fresh.next_due_at < T0 + dt.timedelta(seconds=1.5 * STEP)
