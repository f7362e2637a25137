"""Alert lifecycle: one open alert per key (also under concurrent raising), compare-and-set transitions, timeline."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from monitoring.alerts.alerting import acknowledge, resolve
from monitoring.alerts.public import raise_alert, resolve_alert
from monitoring.models import Alert
from opsportal.models import AuditRecord


@pytest.mark.django_db
def test_raising_twice_refreshes_the_open_alert_and_escalates_severity() -> None:
    first = raise_alert("metric:disk_space:host:a", summary="Disk 91%", source="metrics", severity="warning")
    again = raise_alert("metric:disk_space:host:a", summary="Disk 93%", source="metrics", severity="warning")
    assert again.pk == first.pk and again.summary == "Disk 93%"
    worse = raise_alert("metric:disk_space:host:a", summary="Disk 99%", source="metrics", severity="critical")
    assert worse.pk == first.pk and worse.severity == "critical"
    assert [e.kind for e in worse.events.all()] == ["fired", "updated"]


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_alert_for_a_key() -> None:
    raise_alert("service:api:down", summary="API is down", source="monitoring")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(dedup_key="service:api:down", source="monitoring", summary="dup")
    resolve_alert("service:api:down")
    Alert.objects.create(dedup_key="service:api:down", source="monitoring", summary="a new outage")  # allowed again


@pytest.mark.django_db
def test_acknowledge_then_resolve_writes_timeline_and_audit(users: dict[str, Any]) -> None:
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    assert acknowledge(alert, users["editor"], "looking into it")
    assert not acknowledge(alert, users["admin"], "me too")  # compare-and-set: already acknowledged
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == users["editor"]
    alert.comment(users["viewer"], "the database looks fine")
    assert resolve(alert, users["admin"], "restarted")
    assert not resolve(alert, users["admin"], "again")
    kinds = [(e.kind, e.actor.username if e.actor else None, e.note) for e in alert.events.all()]
    assert kinds == [
        ("fired", None, "API is down"),
        ("acknowledged", "eddie-editor", "looking into it"),
        ("comment", "vera-viewer", "the database looks fine"),
        ("resolved", "ada-admin", "restarted"),
    ]
    summaries = list(AuditRecord.objects.filter(object_type="monitoring.alert").values_list("summary", flat=True))
    assert "acknowledged: looking into it" in summaries and "resolved: restarted" in summaries


@pytest.mark.django_db(transaction=True)
def test_concurrent_raising_opens_exactly_one_alert() -> None:
    """Eight threads, each with its own database connection, raise the same key at the same moment."""
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            alert = raise_alert("service:api:down", summary=f"API is down ({n})", source="monitoring")
            results.append(alert.pk)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert Alert.objects.filter(dedup_key="service:api:down").count() == 1
    assert Alert.objects.get().events.filter(kind="fired").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledge_lets_exactly_one_person_win(django_user_model: Any) -> None:
    people = [django_user_model.objects.create_user(f"oncall{n}") for n in range(6)]
    alert = raise_alert("service:api:down", summary="API is down", source="monitoring")
    barrier = threading.Barrier(len(people))
    wins: list[str] = []

    def worker(user: Any) -> None:
        try:
            barrier.wait()
            mine = Alert.objects.get(pk=alert.pk)
            if mine.acknowledge(user, "mine"):
                wins.append(user.username)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert alert.events.filter(kind="acknowledged").count() == 1
