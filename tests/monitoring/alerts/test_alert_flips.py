"""Service flips and certificates become alerts: down/up, flapping, certificate expiry, concurrent processing."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from monitoring.alerts.alerting import check_certificates, end_flapping, process_flips
from monitoring.models import Alert, Service, ServiceFlip
from tests.monitoring.services.factories import ServiceFactory

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def flip(service: Service, new: str, minutes: float = 0, old: str = "up", reason: str = "") -> ServiceFlip:
    Service.objects.filter(pk=service.pk).update(status=new)
    return ServiceFlip.objects.create(
        service=service, at=T0 + dt.timedelta(minutes=minutes), old_status=old, new_status=new, reason=reason
    )


def open_alerts() -> dict[str, Alert]:
    return {a.dedup_key: a for a in Alert.objects.exclude(state="resolved")}


@pytest.mark.django_db
def test_down_raises_a_critical_alert_with_the_runbook_and_up_resolves_it() -> None:
    api = ServiceFactory(slug="api", name="API")
    flip(api, "down", 0, reason="HTTP 503")
    assert process_flips(now=T0) == 1
    alert = open_alerts()["service:api:down"]
    assert alert.severity == "critical" and alert.runbook == "Service Is Down" and alert.service == api
    assert alert.summary == "API is down: HTTP 503"
    assert ServiceFlip.objects.get().processed_at == T0
    assert process_flips(now=T0) == 0  # claimed once
    flip(api, "up", 3, old="down")
    process_flips(now=T0)
    assert "service:api:down" not in open_alerts()
    assert Alert.objects.get().events.last().note == "service is up again"


@pytest.mark.django_db
def test_flapping_raises_one_alert_instead_of_many(settings: Any) -> None:
    settings.ALERT_FLAP_FLIPS, settings.ALERT_FLAP_MINUTES = 4, 10
    api = ServiceFactory(slug="api", name="API")
    statuses = ["down", "up"] * 5
    for n, status in enumerate(statuses):
        flip(api, status, n, old="up" if status == "down" else "down")
        process_flips(now=T0 + dt.timedelta(minutes=n))
    keys = open_alerts()
    assert list(keys) == ["service:api:flapping"]
    flapping = keys["service:api:flapping"]
    assert flapping.severity == "warning" and flapping.events.filter(kind="fired").count() == 1
    # Without flapping control this would have been 5 down alerts; there were 2 before it kicked in.
    assert Alert.objects.filter(dedup_key="service:api:down").count() == 2
    assert Alert.objects.count() == 3
    # Quiet for 10 minutes while down: the flapping alert ends and the down alert takes over.
    Service.objects.filter(pk=api.pk).update(status="down", status_reason="timeout")
    with time_machine.travel(T0 + dt.timedelta(minutes=9 + 11), tick=False):
        assert end_flapping() == 1
    keys = open_alerts()
    assert list(keys) == ["service:api:down"] and keys["service:api:down"].summary == "API is down: timeout"


@pytest.mark.django_db
def test_flapping_does_not_end_while_flips_continue(settings: Any) -> None:
    settings.ALERT_FLAP_FLIPS, settings.ALERT_FLAP_MINUTES = 2, 10
    api = ServiceFactory(slug="api")
    for n, status in enumerate(["down", "up", "down", "up"]):
        flip(api, status, n)
    process_flips(now=T0)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        assert end_flapping() == 0
    assert "service:api:flapping" in open_alerts()


@pytest.mark.django_db
def test_certificate_expiry_warns_then_alerts_then_resolves_on_renewal() -> None:
    web = ServiceFactory(slug="web", name="Web", cert_warn_days=14, cert_alert_days=7)
    Service.objects.filter(pk=web.pk).update(cert_expires_at=T0 + dt.timedelta(days=20))
    assert check_certificates(now=T0) == 0 and not open_alerts()
    Service.objects.filter(pk=web.pk).update(cert_expires_at=T0 + dt.timedelta(days=10, hours=1))
    check_certificates(now=T0)
    alert = open_alerts()["service:web:cert"]
    assert alert.severity == "warning" and "expires in 10 days" in alert.summary
    Service.objects.filter(pk=web.pk).update(cert_expires_at=T0 + dt.timedelta(days=3))
    check_certificates(now=T0)
    alert.refresh_from_db()
    assert alert.severity == "critical" and "expires in 3 days" in alert.summary
    Service.objects.filter(pk=web.pk).update(cert_expires_at=T0 + dt.timedelta(days=90))
    check_certificates(now=T0)
    assert not open_alerts()


@pytest.mark.django_db(transaction=True)
def test_two_workers_process_each_flip_once() -> None:
    services = [ServiceFactory(slug=f"svc{n}") for n in range(10)]
    for s in services:
        flip(s, "down", 0)
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(process_flips(now=timezone.now()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 10
    assert Alert.objects.count() == 10
    assert not ServiceFlip.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db
def test_flips_with_nothing_to_do_are_handled_together_and_the_others_as_before(
    settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.ALERT_FLAP_FLIPS, settings.ALERT_FLAP_MINUTES = 2, 10
    new = [ServiceFactory(slug=f"new-{i}") for i in range(30)]
    for service in new:  # a fresh install's first checks: UNKNOWN -> UP, no alert to raise or resolve
        flip(service, "up", 0, old="unknown")
    api, web, db = ServiceFactory(slug="api", name="API"), ServiceFactory(slug="web"), ServiceFactory(slug="db")
    flip(api, "down", 0, reason="HTTP 503")
    flip(web, "down", -5), flip(web, "up", -4, old="down"), flip(web, "down", -3)  # three flips in 10 minutes
    process_flips(now=T0 - dt.timedelta(minutes=2))
    assert set(open_alerts()) == {"service:api:down", "service:web:flapping"}
    flip(api, "up", 1, old="down")  # resolves the open down alert
    flip(web, "up", 1, old="down")  # still flapping: refreshed, not quiet
    flip(db, "degraded", 1)  # quiet
    with django_assert_max_num_queries(40):
        assert process_flips(now=T0 + dt.timedelta(minutes=2)) == 3
    assert set(open_alerts()) == {"service:web:flapping"}
    assert not ServiceFlip.objects.filter(processed_at__isnull=True).exists()
