"""Silences, maintenance windows and parent holds suppress notifications, then release them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from monitoring.alerts import notify
from monitoring.alerts.alerting import Holds, process_flips
from monitoring.alerts.public import raise_alert, resolve_alert
from monitoring.models import Alert, MaintenanceWindow, Service, ServiceFlip, Silence, Tag
from tests.monitoring.receiver import Receiver
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.usefixtures("ops_channel")
def test_a_silence_holds_then_releases_a_still_firing_alert(receiver: Receiver) -> None:
    Silence.objects.create(key_prefix="metric:disk_space", starts_at=at(-5), ends_at=at(30), reason="cleanup running")
    with time_machine.travel(at(0), tick=False):
        alert = raise_alert("metric:disk_space:host:a", summary="Disk 95%", source="metrics")
        notify.run_once()
    assert not receiver.refs()
    alert.refresh_from_db()
    assert alert.held_reason.startswith("silenced (key metric:disk_space*): cleanup running")
    assert alert.events.get(kind="fired").dispatch_note.startswith("held: silenced")
    assert alert.events.get(kind="fired").held
    with time_machine.travel(at(10), tick=False):
        notify.run_once()
    assert not receiver.refs()
    with time_machine.travel(at(31), tick=False):
        report = notify.run_once()
    assert report["released"] == 1
    assert receiver.refs() == [(alert.pk, alert.events.get(kind="fired").pk)]
    alert.refresh_from_db()
    assert alert.held_reason == ""
    assert not alert.events.filter(held=True).exists()
    assert alert.events.filter(kind="updated", note__startswith="notifications released").exists()
    with time_machine.travel(at(32), tick=False):
        notify.run_once()
    assert len(receiver.refs()) == 1  # released once


@pytest.mark.usefixtures("ops_channel")
def test_release_reads_the_held_field_not_the_note(receiver: Receiver) -> None:
    """The hold is a field: a timeline note worded otherwise (or blank) changes nothing."""
    Silence.objects.create(key_prefix="metric:disk_space", starts_at=at(-5), ends_at=at(30), reason="cleanup")
    with time_machine.travel(at(0), tick=False):
        alert = raise_alert("metric:disk_space:host:b", summary="Disk 96%", source="metrics")
        notify.run_once()
    fired = alert.events.get(kind="fired")
    assert fired.held
    fired.dispatch_note = ""  # no "held" prefix left for anything to read
    fired.save(update_fields=["dispatch_note"])
    with time_machine.travel(at(31), tick=False):
        assert notify.run_once()["released"] == 1
    assert receiver.refs() == [(alert.pk, fired.pk)]
    fired.refresh_from_db()
    assert not fired.held and fired.dispatch_note.startswith("held, released")


@pytest.mark.usefixtures("ops_channel")
def test_an_alert_resolved_while_silenced_is_never_sent(receiver: Receiver) -> None:
    Silence.objects.create(key_prefix="service:api:", starts_at=at(-5), ends_at=at(30), reason="deploy")
    with time_machine.travel(at(0), tick=False):
        raise_alert("service:api:down", summary="API is down", source="monitoring")
        notify.run_once()
    with time_machine.travel(at(5), tick=False):
        resolve_alert("service:api:down")
        notify.run_once()
    with time_machine.travel(at(40), tick=False):
        notify.run_once()
    assert not receiver.refs()
    resolved = Alert.objects.get().events.get(kind="resolved")
    assert resolved.dispatch_note == "no channel had been told of this alert"


@pytest.mark.usefixtures("ops_channel")
def test_maintenance_window_holds_its_service_only(receiver: Receiver) -> None:
    db, api = ServiceFactory(slug="db", name="DB"), ServiceFactory(slug="api", name="API")
    MaintenanceWindow.objects.create(service=db, starts_at=at(0), ends_at=at(60), reason="upgrade to 17")
    with time_machine.travel(at(1), tick=False):
        held = raise_alert("service:db:down", summary="DB is down", source="monitoring", service=db)
        sent = raise_alert("service:api:down", summary="API is down", source="monitoring", service=api)
        notify.run_once()
    assert [a for a, _e in receiver.refs()] == [sent.pk]
    held.refresh_from_db()
    assert held.held_reason.startswith("maintenance window until") and "upgrade to 17" in held.held_reason
    with time_machine.travel(at(61), tick=False):
        notify.run_once()
    assert [a for a, _e in receiver.refs()] == [sent.pk, held.pk]


@pytest.mark.usefixtures("ops_channel")
def test_a_child_is_held_while_its_parent_is_down_and_released_after(receiver: Receiver) -> None:
    db = ServiceFactory(slug="db", name="DB")
    api = ServiceFactory(slug="api", name="API", parent=db)
    for service in (db, api):
        Service.objects.filter(pk=service.pk).update(status="down")
        ServiceFlip.objects.create(service=service, at=at(0), old_status="up", new_status="down")
    with time_machine.travel(at(0), tick=False):
        process_flips()
        notify.run_once()
    parent_alert = Alert.objects.get(dedup_key="service:db:down")
    child_alert = Alert.objects.get(dedup_key="service:api:down")
    assert [a for a, _e in receiver.refs()] == [parent_alert.pk]
    child_alert.refresh_from_db()
    assert child_alert.held_reason == "parent service DB is down"
    # The database comes back; the API is still down: now its alert goes out.
    Service.objects.filter(pk=db.pk).update(status="up")
    ServiceFlip.objects.create(service=db, at=at(5), old_status="down", new_status="up")
    with time_machine.travel(at(5), tick=False):
        process_flips()
        notify.run_once()
    refs = [a for a, _e in receiver.refs()]
    assert refs.count(child_alert.pk) == 1 and refs.count(parent_alert.pk) == 2  # fired + resolved


def test_silence_matchers_service_tag_and_severity() -> None:
    tagged = ServiceFactory(slug="web")
    tag = Tag.objects.create(name="frontend")
    tagged.tags.add(tag)
    plain = ServiceFactory(slug="api")
    Silence.objects.create(tag=tag, severity="warning", starts_at=at(-1), ends_at=at(60), reason="noisy")
    holds = Holds.load(at(0))
    warn_web = raise_alert("a", summary="a", source="x", severity="warning", service=tagged)
    crit_web = raise_alert("b", summary="b", source="x", severity="critical", service=tagged)
    warn_api = raise_alert("c", summary="c", source="x", severity="warning", service=plain)
    for alert in (warn_web, crit_web, warn_api):
        alert.refresh_from_db()
    assert holds.reason(warn_web).startswith("silenced (tag frontend, severity warning)")
    assert holds.reason(crit_web) == ""
    assert holds.reason(warn_api) == ""


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        (dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC), True),  # Monday 22:30, after the start
        (dt.datetime(2026, 3, 3, 5, 59, tzinfo=dt.UTC), True),  # Tuesday 05:59: Monday's window past midnight
        (dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC), False),  # Tuesday 06:00: ended
        (dt.datetime(2026, 3, 3, 22, 30, tzinfo=dt.UTC), False),  # Tuesday is not a chosen day
        (dt.datetime(2026, 3, 8, 23, 0, tzinfo=dt.UTC), True),  # Sunday 23:00
        (dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC), True),  # Monday 01:00: Sunday's window
    ],
)
def test_weekly_silence_across_midnight(moment: dt.datetime, active: bool, settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    silence = Silence(
        key_prefix="metric:",
        recurrence="weekly",
        weekdays="0,6",
        daily_start=dt.time(22, 0),
        daily_end=dt.time(6, 0),
        starts_at=T0 - dt.timedelta(days=1),
        reason="nightly batch",
    )
    silence.full_clean()
    assert silence.is_active(moment) is active


def test_silence_validation_messages() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        Silence(starts_at=T0, ends_at=T0 - dt.timedelta(hours=1), reason="x").full_clean()
    assert "key_prefix" in exc.value.message_dict and "ends_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        Silence(key_prefix="x", recurrence="weekly", starts_at=T0, reason="x").full_clean()
    assert "weekdays" in exc.value.message_dict and "daily_start" in exc.value.message_dict
