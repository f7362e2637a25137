"""Display formatters used by every page: percentages, milliseconds, sizes, durations and ages.

Also template filters (``{% load portal %}``: ``{{ value|percent }}``, ``|ms``, ``|bytes``,
``|duration``), registered in opsportal/templatetags/portal.py. A missing value prints an en dash.
"""

from __future__ import annotations

import datetime as dt

from .web import parse_time

NONE = "\u2013"


def percent(value: float | None, digits: int = 2) -> str:
    """A ratio (0.9991) as a percentage without trailing zeros (99.91%)."""
    if value is None:
        return NONE
    text = f"{value * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def ms(value: float | None) -> str:
    """Milliseconds as ms below a second, else seconds (12 ms, 2.5 s, 45 s)."""
    if value is None:
        return NONE
    if value >= 10_000:
        return f"{value / 1000:.0f} s"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms"


def human_bytes(n: float | None) -> str:
    """A size in bytes, KiB, MiB or GiB (one decimal, none when it is .0)."""
    if n is None:
        return NONE
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n} bytes"


def duration(value: dt.timedelta | float | None) -> str:
    """A duration (timedelta or seconds) in its two largest units: 45s, 3m 07s, 2h 05m, 3d 4h."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds() if isinstance(value, dt.timedelta) else value)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def age_hours(hours: float | None) -> str:
    """How old something is, from hours: "just now", "12 min old", "30 h old"."""
    if hours is None:
        return NONE
    if hours >= 1:
        return f"{hours:.0f} h old"
    return f"{hours * 60:.0f} min old" if hours * 60 >= 1 else "just now"


def seconds(value: float | None) -> str:
    """Seconds with two decimals (a step's duration)."""
    return NONE if value is None else f"{value:.2f} s"


def instant(value: dt.datetime | str | None) -> dt.datetime | None:
    """A datetime, or an ISO 8601 text of one (status payloads carry them as text; read by
    ``opsportal.web.parse_time``, a time without a zone as UTC), for ``|ago`` and ``|date``; None
    for a missing or unreadable value."""
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        return parse_time(value, naive_is_utc=True)
    except ValueError:
        return None


def ago(value: dt.datetime | str | None, now: dt.datetime | None = None) -> str:
    """How long ago an instant was, as the dashboard's script says it: "40 s ago", "3 min ago",
    "5 h ago", "2 d ago" (an instant in the future, a clock ahead of this one, reads "0 s ago")."""
    moment = instant(value)
    if moment is None:
        return NONE
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"
