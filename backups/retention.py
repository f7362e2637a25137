"""GFS retention with exactly the semantics of ``restic forget --keep-daily --keep-weekly --keep-monthly``.

Walk the backups newest first. Each bucket (daily: calendar day, weekly: ISO week, monthly:
calendar month) that still has count left keeps a backup whose period differs from the last
one that bucket kept, and spends one count. Buckets are independent, so one backup can spend
a count in several. The oldest backup is also kept by every bucket that still has count
left. Periods are taken in ``settings.TIME_ZONE``; a naive timestamp is read as local time
there. As in restic, a policy of all zeros keeps everything.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable

from django.conf import settings

Period = Callable[[dt.datetime], tuple[int, ...]]

BUCKETS: tuple[tuple[str, Period], ...] = (
    ("daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", lambda t: tuple(t.isocalendar())[:2]),
    ("monthly", lambda t: (t.year, t.month)),
)
EMPTY_POLICY = "policy is empty"


def _local(ts: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    if ts.tzinfo is None or ts.tzinfo.utcoffset(ts) is None:
        return ts.replace(tzinfo=zone)
    return ts.astimezone(zone)


def explain_retention(
    timestamps: Iterable[dt.datetime], *, daily: int = 7, weekly: int = 4, monthly: int = 12
) -> dict[dt.datetime, list[str]]:
    """Every kept timestamp with why it is kept ("daily", "weekly", "monthly", or "oldest").

    A backup kept by a bucket only because it is the oldest (its period equals the one that
    bucket kept last) is labelled "oldest"; a bucket that keeps the oldest backup for a new
    period labels it with its own name.
    """
    counts = {"daily": daily, "weekly": weekly, "monthly": monthly}
    if any(c < 0 for c in counts.values()):
        raise ValueError("retention counts cannot be negative")
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    unique = {_local(ts, zone): ts for ts in timestamps}
    ordered = sorted(unique, reverse=True)  # newest first
    if not any(counts.values()):
        return {unique[t]: [EMPTY_POLICY] for t in ordered}

    left = dict(counts)
    last: dict[str, tuple[int, ...] | None] = {name: None for name, _ in BUCKETS}
    kept: dict[dt.datetime, list[str]] = {}
    final = len(ordered) - 1
    for nr, ts in enumerate(ordered):
        reasons: list[str] = []
        for name, period in BUCKETS:
            if left[name] <= 0:
                continue
            value = period(ts)
            if value != last[name] or nr == final:
                reasons.append(name if value != last[name] else "oldest")
                last[name] = value
                left[name] -= 1
        if reasons:
            kept[unique[ts]] = list(dict.fromkeys(reasons))
    return kept


def select_retained(
    timestamps: Iterable[dt.datetime], *, daily: int = 7, weekly: int = 4, monthly: int = 12
) -> set[dt.datetime]:
    """The set of timestamps to keep (restic ``forget`` semantics; see the module docstring)."""
    return set(explain_retention(timestamps, daily=daily, weekly=weekly, monthly=monthly))
