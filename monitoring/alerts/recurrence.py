"""Occurrences of recurring maintenance windows: daily, weekly, monthly and cron, in a time zone.

Daily, weekly and monthly windows are written as the cron expression they mean and every kind
is walked by croniter in the window's own zone (``TIME_ZONE`` when it has none), so a window
at 02:00 stays at 02:00 local time across daylight-saving changes. A monthly window on the 31st
skips the months that have no 31st, as cron does.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from typing import Any

from croniter import croniter
from django.conf import settings

from monitoring.alerts.choices import WindowRecurrence

# A window never ends up searched further back than this for the occurrence covering a moment.
MAX_LOOKBACK = dt.timedelta(days=400)


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


def valid_zone(name: str) -> bool:
    try:
        zone_of(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def cron_expression(window: Any) -> str:
    """The cron expression of a recurring window ("" for a one-off window)."""
    kind = window.recurrence
    if kind == WindowRecurrence.CRON:
        return window.cron.strip()
    if kind == WindowRecurrence.ONCE or window.at_time is None:
        return ""
    minute, hour = window.at_time.minute, window.at_time.hour
    if kind == WindowRecurrence.DAILY:
        return f"{minute} {hour} * * *"
    if kind == WindowRecurrence.WEEKLY:
        # Python counts Monday as 0, cron counts Sunday as 0.
        days = ",".join(str((d + 1) % 7) for d in sorted(window.weekday_set))
        return f"{minute} {hour} * * {days}"
    if kind == WindowRecurrence.MONTHLY:
        return f"{minute} {hour} {window.day_of_month} * *"
    return ""


def valid_cron(expression: str) -> bool:
    return bool(expression) and croniter.is_valid(expression)


def occurrences(window: Any, after: dt.datetime, limit: int = 10) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of the window's occurrences that end after ``after``, soonest first, at most ``limit``."""
    duration = dt.timedelta(minutes=window.duration_minutes or 0)
    if window.recurrence == WindowRecurrence.ONCE:
        if window.ends_at and window.ends_at > after:
            yield window.starts_at, window.ends_at
        return
    expression = cron_expression(window)
    if not valid_cron(expression) or not duration:
        return
    zone = zone_of(window.time_zone)
    # Start one duration back so an occurrence already under way is included.
    begin = max(after - duration, window.starts_at) - dt.timedelta(seconds=1)
    walker = croniter(expression, begin.astimezone(zone))
    count = 0
    while count < limit:
        start = walker.get_next(dt.datetime)
        if window.ends_at and start >= window.ends_at:
            return
        end = start + duration
        if end <= after or start < window.starts_at:
            continue
        count += 1
        yield start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def active_occurrence(window: Any, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The occurrence covering ``at``, or None."""
    for start, end in occurrences(window, at, limit=1):
        return (start, end) if start <= at < end else None
    return None
