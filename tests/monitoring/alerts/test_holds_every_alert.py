"""Holds apply to every alert of a service, whatever raised it; a down alert inhibits its own pages;
a parent cycle can never hold alerts forever (issue 9, cases 4 and 6)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from monitoring.alerts import notify
from monitoring.alerts.alerting import process_flips
from monitoring.alerts.holds import Holds
from monitoring.metrics.evaluation import SampleIn, evaluate, record_samples
from monitoring.models import Alert, MaintenanceWindow, Metric, Service, ServiceFlip
from monitoring.public import hold_reason, raise_alert
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.metrics.factories import ensure_runbook_metrics
from tests.monitoring.receiver import Receiver
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def go_down(service: Service, minutes: float) -> None:
    Service.objects.filter(pk=service.pk).update(status="down")
    ServiceFlip.objects.create(service=service, at=at(minutes), old_status="up", new_status="down", reason="HTTP 503")


def push_error_rate(service: Service, value: float) -> None:
    metric = Metric.objects.get(key="error_rate")
    record_samples([SampleIn(metric.pk, f"service:{service.slug}", value, at(0), service.pk)])


def test_a_down_parent_holds_the_childs_metric_alerts_too(receiver: Receiver) -> None:
    """Case 4 as seen: the child's down alert was held but its uptime/error-rate alerts were sent."""
    NotificationChannelFactory(name="ops", url=receiver.url())
    db = ServiceFactory(slug="db", name="Database")
    api = ServiceFactory(slug="api", name="API", parent=db)
    Metric.objects.filter(key="error_rate").update(for_seconds=0)
    with time_machine.travel(at(0), tick=False):
        go_down(db, 0)
        go_down(api, 0)
        process_flips()
        push_error_rate(api, 40.0)
        evaluate(compute=False)
        notify.run_once()
    metric_alert = Alert.objects.get(dedup_key="metric:error_rate:service:api")
    assert metric_alert.held_reason == "parent service Database is down"
    assert Alert.objects.get(dedup_key="service:api:down").held_reason == "parent service Database is down"
    told = {ref[0] for ref in receiver.refs()}
    assert told == {Alert.objects.get(dedup_key="service:db:down").pk}  # only the parent pages


def test_alerts_of_other_sources_get_the_same_holds() -> None:
    """An agent alert (or one from backups/maintenance through public.py) with service= is held the same way."""
    agents = ServiceFactory(slug="agents", name="Agents")
    MaintenanceWindow.objects.create(service=agents, starts_at=at(-10), ends_at=at(50), reason="model upgrade")
    with time_machine.travel(at(0), tick=False):
        alert = raise_alert("agent:content:slow", summary="Content agent took 6 min", source="agents", service=agents)
        assert alert.held_reason.startswith("maintenance window until")
        assert hold_reason(alert) == alert.held_reason
    paused = ServiceFactory(slug="paused", name="Paused", enabled=False)
    with time_machine.travel(at(0), tick=False):
        other = raise_alert("maintenance:overdue:x", summary="Checklist overdue", source="maintenance", service=paused)
    assert other.held_reason == "service paused"


def test_a_down_alert_inhibits_its_own_error_rate_page_shown_as_inhibited(receiver: Receiver) -> None:
    NotificationChannelFactory(name="ops", url=receiver.url())
    api = ServiceFactory(slug="api", name="API")
    Metric.objects.filter(key="error_rate").update(for_seconds=0)
    with time_machine.travel(at(0), tick=False):
        go_down(api, 0)
        process_flips()
        push_error_rate(api, 100.0)
        evaluate(compute=False)
        notify.run_once()
    down = Alert.objects.get(dedup_key="service:api:down")
    page = Alert.objects.get(dedup_key="metric:error_rate:service:api")
    assert page.state == "firing"  # it opens and shows
    assert page.held_reason == f"inhibited by alert #{down.pk} (API is down: HTTP 503)"
    assert {r[0] for r in receiver.refs()} == {down.pk}
    # After the outage it stays part of it: no second page for the same outage.
    Service.objects.filter(pk=api.pk).update(status="up")
    ServiceFlip.objects.create(service=api, at=at(3), old_status="down", new_status="up")
    with time_machine.travel(at(3), tick=False):
        process_flips()
        notify.run_once()
    page.refresh_from_db()
    assert page.held_reason == f"inhibited: opened during the outage paged as alert #{down.pk}"
    assert {r[0] for r in receiver.refs()} == {down.pk}


def test_a_parent_cycle_in_the_data_holds_nothing_forever() -> None:
    """Case 6 as seen: A and B each other's parent, both down, both held 'parent ... is down' forever."""
    a = ServiceFactory(slug="a", name="A")
    b = ServiceFactory(slug="b", name="B", parent=a)
    Service.objects.filter(pk=a.pk).update(parent=b)  # bad data, written past every check
    with time_machine.travel(at(0), tick=False):
        go_down(a, 0)
        go_down(b, 0)
        process_flips()
    holds = Holds.load(at(1))
    for alert in Alert.objects.filter(dedup_key__endswith=":down"):
        assert holds.reason(alert) == "", alert.dedup_key


def test_the_hold_walk_is_bounded_on_a_long_chain() -> None:
    services = [ServiceFactory(slug="s0", name="S0")]
    for n in range(1, 60):
        services.append(ServiceFactory(slug=f"s{n}", name=f"S{n}", parent=services[-1]))
    Service.objects.filter(pk=services[0].pk).update(status="down")
    holds = Holds.load(at(0))
    assert holds.parent_down(services[10].pk) == "S0"
    assert holds.parent_down(services[59].pk) == ""  # 59 levels up is past the bound (32)


def test_a_page_opened_just_before_the_down_alert_joins_the_outage(receiver: Receiver) -> None:
    """Seen live: the fast-burn page was judged at the first failed check, the down alert came with
    the second; once the service was up again the page would have paged for the same outage."""
    NotificationChannelFactory(name="ops", url=receiver.url())
    api = ServiceFactory(slug="api", name="API")
    with time_machine.travel(at(0), tick=False):
        page = raise_alert(
            "slo:uptime:service:api:page",
            summary="API: error budget burning fast",
            source="metrics",
            service=api,
            details={"inhibit": "service_down", "breaching": True},
        )
        assert page.held_reason == ""
        go_down(api, 0)
        process_flips()
    down = Alert.objects.get(dedup_key="service:api:down")
    page.refresh_from_db()
    assert page.details["outage_alert"] == down.pk
    Service.objects.filter(pk=api.pk).update(status="up")
    ServiceFlip.objects.create(service=api, at=at(3), old_status="down", new_status="up")
    with time_machine.travel(at(3), tick=False):
        process_flips()
        notify.run_once()
    assert Holds.load(at(3)).reason(page) == f"inhibited: opened during the outage paged as alert #{down.pk}"
    assert page.pk not in {alert_id for alert_id, _e in receiver.refs()}
