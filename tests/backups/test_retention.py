"""select_retained: restic `forget --keep-daily/--keep-weekly/--keep-monthly` semantics, by hand and by property."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from backups.retention import explain_retention, select_retained

UTC = dt.UTC


def at(day: str, time: str = "02:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def _utc(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"


def test_short_history_keeps_everything_and_labels_the_oldest() -> None:
    stamps = [at("2026-01-10"), at("2026-01-09"), at("2026-01-08")]
    assert explain_retention(stamps) == {
        at("2026-01-10"): ["daily", "weekly", "monthly"],
        at("2026-01-09"): ["daily"],
        at("2026-01-08"): ["daily", "oldest"],  # same ISO week and month as the newest: kept as the oldest
    }


def test_thirty_dailies_in_one_month() -> None:
    # March 2026: the 2nd, 9th, 16th, 23rd and 30th are Mondays.
    stamps = [at(f"2026-03-{d:02d}") for d in range(1, 31)]
    expected = {at(f"2026-03-{d:02d}"): ["daily"] for d in range(24, 29)}
    expected |= {
        at("2026-03-30"): ["daily", "weekly", "monthly"],
        at("2026-03-29"): ["daily", "weekly"],  # Sunday: the week of the 23rd
        at("2026-03-22"): ["weekly"],
        at("2026-03-15"): ["weekly"],
        at("2026-03-01"): ["oldest"],  # monthly count left over
    }
    assert explain_retention(stamps) == expected
    assert len(select_retained(stamps)) == 10


def test_month_edges_across_a_year_boundary() -> None:
    stamps = [
        at("2026-02-01", "12:00"),
        at("2026-01-31", "12:00"),
        at("2026-01-01", "00:30"),
        at("2025-12-31", "23:30"),
    ]
    assert explain_retention(stamps, daily=1, weekly=0, monthly=3) == {
        at("2026-02-01", "12:00"): ["daily", "monthly"],
        at("2026-01-31", "12:00"): ["monthly"],
        at("2025-12-31", "23:30"): ["monthly"],
    }


def test_periods_are_taken_in_the_portal_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "America/New_York"
    # 2026-01-01 00:30 UTC is still 31 December in New York, so December's newest backup changes.
    stamps = [
        at("2026-02-01", "12:00"),
        at("2026-01-31", "12:00"),
        at("2026-01-01", "00:30"),
        at("2025-12-31", "23:30"),
    ]
    assert select_retained(stamps, daily=1, weekly=0, monthly=3) == {
        at("2026-02-01", "12:00"),
        at("2026-01-31", "12:00"),
        at("2026-01-01", "00:30"),
    }


def test_iso_weeks_cross_the_year() -> None:
    # ISO week 2026-W01 runs from Monday 2025-12-29 to Sunday 2026-01-04; 2025-12-28 is in 2025-W52.
    stamps = [at(d) for d in ("2026-01-04", "2026-01-03", "2025-12-31", "2025-12-29", "2025-12-28", "2025-12-21")]
    assert explain_retention(stamps, daily=0, weekly=2, monthly=0) == {
        at("2026-01-04"): ["weekly"],
        at("2025-12-28"): ["weekly"],
    }


def test_gaps_spend_no_counts() -> None:
    stamps = [at(d) for d in ("2026-05-20", "2026-05-19", "2026-05-08", "2026-05-07", "2026-04-30", "2026-04-02")]
    assert explain_retention(stamps, daily=3, weekly=2, monthly=2) == {
        at("2026-05-20"): ["daily", "weekly", "monthly"],
        at("2026-05-19"): ["daily"],
        at("2026-05-08"): ["daily", "weekly"],
        at("2026-04-30"): ["monthly"],
    }  # 2026-05-07 and 2026-04-02 (oldest, but every count is spent) go


def test_several_backups_a_day_keep_the_newest_of_each_day() -> None:
    stamps = [
        at("2026-06-10", "14:00"),
        at("2026-06-10", "02:00"),
        at("2026-06-09", "14:00"),
        at("2026-06-09", "02:00"),
    ]
    assert explain_retention(stamps, daily=7, weekly=0, monthly=0) == {
        at("2026-06-10", "14:00"): ["daily"],
        at("2026-06-09", "14:00"): ["daily"],
        at("2026-06-09", "02:00"): ["oldest"],
    }


def test_edge_inputs() -> None:
    assert select_retained([]) == set()
    assert explain_retention([at("2026-01-01")]) == {at("2026-01-01"): ["daily", "weekly", "monthly"]}
    stamps = [at("2026-01-01"), at("2026-01-02")]
    assert select_retained(stamps, daily=0, weekly=0, monthly=0) == set(stamps)  # restic: an empty policy keeps all
    assert select_retained(stamps + stamps) == set(stamps)  # duplicates are one backup
    naive = dt.datetime(2026, 1, 1, 2, 0)  # read as local time in TIME_ZONE
    assert select_retained([naive]) == {naive}
    with pytest.raises(ValueError):
        select_retained(stamps, daily=-1)


# Property tests ------------------------------------------------------------------------------

ZONE = zoneinfo.ZoneInfo("UTC")


def reference(stamps: list[dt.datetime], daily: int, weekly: int, monthly: int) -> set[dt.datetime]:
    """Another formulation of the same rule: per bucket, the newest backup of each of the N newest
    periods, plus the oldest backup when there are fewer than N periods."""
    if daily == weekly == monthly == 0:
        return set(stamps)
    ordered = sorted(set(stamps), reverse=True)
    keep: set[dt.datetime] = set()
    for count, period in (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
        (monthly, lambda t: (t.year, t.month)),
    ):
        if count == 0:
            continue
        newest_of: dict[Any, dt.datetime] = {}
        for t in ordered:
            newest_of.setdefault(period(t.astimezone(ZONE)), t)
        periods = list(newest_of.values())
        keep.update(periods[:count])
        if len(periods) < count and ordered:
            keep.add(ordered[-1])
    return keep


timestamps = st.lists(
    st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(UTC)),
    max_size=120,
)
counts = st.integers(min_value=0, max_value=15)


@hsettings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stamps=timestamps, daily=counts, weekly=counts, monthly=counts, seed=st.integers(0, 2**32))
def test_properties(stamps: list[dt.datetime], daily: int, weekly: int, monthly: int, seed: int) -> None:
    kept = select_retained(stamps, daily=daily, weekly=weekly, monthly=monthly)
    shuffled = list(stamps)
    random.Random(seed).shuffle(shuffled)
    # Deterministic: the order of the input does not matter, and running it again changes nothing.
    assert kept == select_retained(shuffled, daily=daily, weekly=weekly, monthly=monthly)
    assert kept <= set(stamps)
    if daily or weekly or monthly:
        assert len(kept) <= daily + weekly + monthly
        if stamps:
            assert max(stamps) in kept  # the newest is always kept
    assert kept == reference(stamps, daily, weekly, monthly)
    # A larger count keeps everything a smaller one kept.
    if daily or weekly or monthly:
        assert kept <= select_retained(stamps, daily=daily + 1, weekly=weekly, monthly=monthly)
        assert kept <= select_retained(stamps, daily=daily, weekly=weekly + 1, monthly=monthly)
