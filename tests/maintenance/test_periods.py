"""Opening checklist periods: bounds across day, week, month, quarter and year boundaries, zones, catch-up."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from maintenance.models import Checklist, ChecklistPeriod
from maintenance.periods import bounds_for, open_due_periods
from maintenance.seed import ensure_content
from maintenance.tasks import open_checklist_periods
from opsportal.models import JobRun

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _content(db: Any) -> None:
    """The migration's content (a transactional test elsewhere may have flushed the tables since)."""
    ensure_content()


def keys(cadence: str) -> list[str]:
    return list(
        ChecklistPeriod.objects.filter(checklist__cadence=cadence).order_by("starts_at").values_list("key", flat=True)
    )


@pytest.mark.django_db
def test_year_end_opens_new_day_week_month_and_quarter() -> None:
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC), tick=False):
        open_due_periods()
    assert keys("daily") == ["2026-12-31"]
    assert keys("weekly") == ["2026-W53"]
    assert keys("monthly") == ["2026-12"]
    assert keys("quarterly") == ["2026-Q4"]
    with time_machine.travel(dt.datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), tick=False):
        created = open_due_periods()
    assert {p.key for p in created} == {"2027-01-01", "2027-01", "2027-Q1"}  # the ISO week 53 runs until Monday
    assert keys("quarterly") == ["2026-Q4", "2027-Q1"]
    q1 = ChecklistPeriod.objects.get(key="2027-Q1")
    assert q1.starts_at == dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert q1.ends_at == dt.datetime(2027, 4, 1, tzinfo=UTC)
    with time_machine.travel(dt.datetime(2027, 1, 4, 0, 0, 1, tzinfo=UTC), tick=False):
        open_due_periods()
    assert keys("weekly") == ["2026-W53", "2027-W01"]
    week = ChecklistPeriod.objects.get(key="2027-W01")
    assert week.starts_at == dt.datetime(2027, 1, 4, tzinfo=UTC) and week.ends_at == dt.datetime(
        2027, 1, 11, tzinfo=UTC
    )


@pytest.mark.django_db
def test_month_and_quarter_boundaries() -> None:
    with time_machine.travel(dt.datetime(2027, 3, 31, 12, 0, tzinfo=UTC), tick=False):
        open_due_periods()
    with time_machine.travel(dt.datetime(2027, 4, 1, 0, 0, 1, tzinfo=UTC), tick=False):
        open_due_periods()
    assert keys("monthly") == ["2027-03", "2027-04"]
    assert keys("quarterly") == ["2027-Q1", "2027-Q2"]
    assert ChecklistPeriod.objects.get(key="2027-03").ends_at == dt.datetime(2027, 4, 1, tzinfo=UTC)
    # February of a common year ends on the 28th.
    assert bounds_for("monthly", dt.datetime(2027, 2, 10, tzinfo=UTC)).ends_at == dt.datetime(2027, 3, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_opening_is_idempotent() -> None:
    with time_machine.travel(dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC), tick=False):
        first = open_due_periods()
        again = open_due_periods()
        open_checklist_periods()
    assert len(first) == 4 and again == []
    assert ChecklistPeriod.objects.count() == 4
    daily = ChecklistPeriod.objects.get(checklist__cadence="daily")
    assert [i.text for i in daily.items.all()] == [
        "Check service health dashboard",
        "Monitor error rates",
        "Review backup completion",
    ]


@pytest.mark.django_db
def test_catch_up_after_three_missed_days_opens_each_once() -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        open_due_periods()
    # Beat was down on the 2nd, 3rd and 4th; it comes back on the 5th.
    with time_machine.travel(dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC), tick=False):
        open_checklist_periods()
        open_checklist_periods()
    assert keys("daily") == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]
    assert keys("weekly") == ["2026-W49"]
    run = JobRun.objects.get(kind="maintenance: open checklist periods", stats__opened=4)
    assert run.stats["overdue"] == 4  # Dec 1-4 ended with every item open
    # The missed days are overdue; the current day is not.
    overdue = set(ChecklistPeriod.objects.filter(overdue_at__isnull=False).values_list("key", flat=True))
    assert overdue == {"2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"}


@pytest.mark.django_db
def test_periods_follow_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "America/New_York"
    ny = ZoneInfo("America/New_York")
    # 03:30 UTC on Jan 1 is still Dec 31 in New York: the old year, Q4, ISO week 53.
    with time_machine.travel(dt.datetime(2027, 1, 1, 3, 30, tzinfo=UTC), tick=False):
        open_due_periods()
    assert keys("daily") == ["2026-12-31"]
    assert keys("quarterly") == ["2026-Q4"]
    day = ChecklistPeriod.objects.get(checklist__cadence="daily")
    assert day.starts_at == dt.datetime(2026, 12, 31, tzinfo=ny)
    assert day.ends_at == dt.datetime(2027, 1, 1, tzinfo=ny)
    assert day.ends_at == dt.datetime(2027, 1, 1, 5, 0, tzinfo=UTC)
    with time_machine.travel(dt.datetime(2027, 1, 1, 5, 0, 1, tzinfo=UTC), tick=False):
        created = open_due_periods()
    assert {p.key for p in created} == {"2027-01-01", "2027-01", "2027-Q1"}


@pytest.mark.django_db
def test_day_across_daylight_saving_change(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    b = bounds_for("daily", dt.datetime(2027, 3, 28, 12, 0, tzinfo=UTC))  # clocks go forward that night
    assert b.ends_at - b.starts_at == dt.timedelta(hours=23)
    assert b.starts_at == dt.datetime(2027, 3, 27, 23, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_disabled_checklist_opens_nothing() -> None:
    Checklist.objects.filter(cadence="quarterly").update(enabled=False)
    with time_machine.travel(dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC), tick=False):
        open_due_periods()
    assert keys("quarterly") == []
