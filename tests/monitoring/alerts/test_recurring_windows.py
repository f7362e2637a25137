"""Recurring maintenance windows (issue 9, item 7): once, daily, weekly days, monthly day and cron, in
TIME_ZONE or the window's own zone, with a duration; the next occurrences on the silences page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from monitoring.alerts.holds import Holds
from monitoring.alerts.public import raise_alert
from monitoring.models import MaintenanceWindow
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MON = dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def window(**fields: Any) -> MaintenanceWindow:
    service = ServiceFactory(slug=fields.pop("slug", "api"), name="API")
    w = MaintenanceWindow(service=service, starts_at=fields.pop("starts_at", MON - dt.timedelta(days=1)), **fields)
    w.full_clean()
    w.save()
    return w


def test_daily_window_in_its_own_zone_follows_local_time_across_dst() -> None:
    w = window(recurrence="daily", at_time=dt.time(2, 0), duration_minutes=60, time_zone="Europe/Berlin", reason="x")
    # 2026-03-29 is the change to summer time in Berlin: 02:00 local does not exist that day.
    before = w.next_occurrences(dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC), 3)
    starts = [s for s, _e in before]
    assert starts[0] == dt.datetime(2026, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert starts[2] == dt.datetime(2026, 3, 30, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert w.is_active(dt.datetime(2026, 3, 28, 1, 30, tzinfo=UTC))
    assert not w.is_active(dt.datetime(2026, 3, 28, 2, 30, tzinfo=UTC))


def test_weekly_on_chosen_days_and_monthly_on_a_day(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    weekly = window(recurrence="weekly", weekdays="1,3", at_time=dt.time(22, 0), duration_minutes=120, reason="db")
    starts = [s for s, _ in weekly.next_occurrences(MON, 3)]
    assert starts == [
        dt.datetime(2026, 3, 3, 22, 0, tzinfo=UTC),  # Tuesday
        dt.datetime(2026, 3, 5, 22, 0, tzinfo=UTC),  # Thursday
        dt.datetime(2026, 3, 10, 22, 0, tzinfo=UTC),
    ]
    assert weekly.is_active(dt.datetime(2026, 3, 3, 23, 59, tzinfo=UTC))  # runs past midnight
    monthly = window(slug="web", recurrence="monthly", day_of_month=15, at_time=dt.time(3, 30), reason="patch")
    assert [s for s, _ in monthly.next_occurrences(MON, 2)] == [
        dt.datetime(2026, 3, 15, 3, 30, tzinfo=UTC),
        dt.datetime(2026, 4, 15, 3, 30, tzinfo=UTC),
    ]


def test_cron_window_holds_alerts_only_during_an_occurrence(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    w = window(recurrence="cron", cron="0 */6 * * *", duration_minutes=30, reason="rotation")
    with time_machine.travel(MON + dt.timedelta(hours=6, minutes=10), tick=False):
        alert = raise_alert("service:api:down", summary="API is down", source="monitoring", service=w.service)
        assert alert.held_reason == "maintenance window until 2026-03-02 06:30: rotation"
    assert Holds.load(MON + dt.timedelta(hours=6, minutes=40)).reason(alert) == ""


def test_bad_recurring_windows_are_refused_naming_the_field() -> None:
    service = ServiceFactory(slug="api", name="API")
    cases = {
        "cron": {"recurrence": "cron", "cron": "every tuesday"},
        "weekdays": {"recurrence": "weekly", "at_time": dt.time(1, 0)},
        "day_of_month": {"recurrence": "monthly", "at_time": dt.time(1, 0), "day_of_month": 32},
        "time_zone": {"recurrence": "daily", "at_time": dt.time(1, 0), "time_zone": "Mars/Olympus"},
        "ends_at": {"recurrence": "once"},
    }
    for field, fields in cases.items():
        w = MaintenanceWindow(service=service, starts_at=MON, reason="x", **fields)
        with pytest.raises(ValidationError) as caught:
            w.full_clean()
        assert field in caught.value.message_dict, field


def test_the_silences_page_shows_the_next_occurrences(client_for: Callable[[str], Client], settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    window(recurrence="weekly", weekdays="0", at_time=dt.time(4, 0), duration_minutes=45, reason="weekly reboot")
    with time_machine.travel(MON + dt.timedelta(hours=1), tick=False):
        page = client_for("viewer").get("/silences/").content.decode()
    assert 'data-testid="maintenance-calendar"' in page
    assert "weekly Mon at 04:00 (UTC) for 45 min" in page
    assert page.count("weekly reboot") >= 5  # the row plus its next occurrences
