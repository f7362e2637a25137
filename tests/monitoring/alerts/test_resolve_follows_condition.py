"""Resolution follows the condition (issue 9, case 5): a manual resolve while the condition still holds
is recorded, and the next evaluation opens a new alert linked to it that notifies again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client

from monitoring.alerts import notify
from monitoring.alerts.alerting import process_flips, reopen_conditions
from monitoring.metrics.evaluation import SampleIn, evaluate, record_samples
from monitoring.models import Alert, Metric, Service, ServiceFlip
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.metrics.factories import ensure_runbook_metrics
from tests.monitoring.receiver import Receiver
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


T0 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_resolving_a_down_alert_by_hand_while_down_opens_a_new_one(
    receiver: Receiver, client_for: Callable[[str], Client]
) -> None:
    """As seen: resolved by hand while the service stayed down; 90 s and 50 failed checks later nothing."""
    NotificationChannelFactory(name="ops", url=receiver.url())
    api = ServiceFactory(slug="api", name="API")
    with time_machine.travel(at(0), tick=False):
        Service.objects.filter(pk=api.pk).update(status="down", status_reason="HTTP 503")
        ServiceFlip.objects.create(service=api, at=at(0), old_status="up", new_status="down", reason="HTTP 503")
        process_flips()
        notify.run_once()
    first = Alert.objects.get(dedup_key="service:api:down")
    page = client_for("editor").get(f"/alerts/{first.pk}/")
    assert "a new alert opens, linked to this one, and notifies again" in page.content.decode()
    with time_machine.travel(at(30), tick=False):
        response = client_for("editor").post(f"/alerts/{first.pk}/resolve/", {"note": "restarted it"})
        assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == "resolved"
    assert first.events.get(kind="resolved").note == (
        "restarted it while the condition still held (API is still down); a new alert opens at the next evaluation"
    )
    with time_machine.travel(at(40), tick=False):  # the next alerts tick
        assert reopen_conditions() == 1
        notify.run_once()
    second = Alert.objects.exclude(pk=first.pk).get(dedup_key="service:api:down")
    assert second.state == "firing" and second.reopens == first
    assert second.events.get(kind="fired").note.startswith(
        f"opened again: the condition still holds after alert #{first.pk} was resolved by hand."
    )
    assert [ref[0] for ref in receiver.refs() if ref[0] == second.pk] == [second.pk]  # notified again
    assert (
        f'continues as <a href="/alerts/{second.pk}/">alert #{second.pk}</a>'
        in client_for("viewer").get(f"/alerts/{first.pk}/").content.decode()
    )
    with time_machine.travel(at(50), tick=False):
        assert reopen_conditions() == 0  # one open alert is enough


def test_a_service_back_up_is_not_reopened(client_for: Callable[[str], Client]) -> None:
    api = ServiceFactory(slug="api", name="API", status="down")
    ServiceFlip.objects.create(service=api, at=at(0), old_status="up", new_status="down")
    process_flips()
    alert = Alert.objects.get()
    Service.objects.filter(pk=api.pk).update(status="up")
    client_for("editor").post(f"/alerts/{alert.pk}/resolve/", {"note": ""})
    assert reopen_conditions() == 0
    assert Alert.objects.get().events.get(kind="resolved").note == "resolved by hand"


def test_resolving_a_metric_alert_by_hand_while_breaching_reopens_at_the_next_evaluation(
    client_for: Callable[[str], Client],
) -> None:
    memory = Metric.objects.get(key="memory_usage")  # alert >80% for 5 min
    key = "metric:memory_usage:host:web1"
    for minute in range(0, 6):
        with time_machine.travel(at(60 * minute), tick=False):
            record_samples([SampleIn(memory.pk, "host:web1", 91.0, at(60 * minute))])
            evaluate(compute=False)
    first = Alert.objects.get(dedup_key=key)
    with time_machine.travel(at(370), tick=False):
        client_for("editor").post(f"/alerts/{first.pk}/resolve/", {"note": "freed some memory"})
    first.refresh_from_db()
    assert "while the condition still held" in first.events.get(kind="resolved").note
    with time_machine.travel(at(420), tick=False):
        record_samples([SampleIn(memory.pk, "host:web1", 92.0, at(420))])
        report = evaluate(compute=False)
    assert report.raised == 1
    second = Alert.objects.exclude(state="resolved").get(dedup_key=key)
    assert second.reopens == first and second.summary == "Memory Usage is 92% on host web1 (alert if >80%)"
