"""Field checks shared by every agents ingest path (native JSON, OTLP JSON, OTLP protobuf).

Each check appends ``{"index", "field", "message"}`` to an error list and returns the clean value
(or None); callers store nothing when the list is not empty. Numbers are bounded before any float
conversion, texts refuse NUL and lone surrogates (PostgreSQL cannot store them).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from django.utils import timezone

from ..metrics import conf as metrics_conf

FUTURE_SLACK = dt.timedelta(minutes=5)
ATTRIBUTES_MAX_BYTES = 4096


class PayloadTooLarge(Exception):
    """A batch or a line over its size limit: answered with 413."""


class Errors(list):
    """The errors of one request, each naming where (index) and which field."""

    def add(self, index: int | str | None, field: str, message: str) -> None:
        entry: dict[str, Any] = {"field": field, "message": message}
        if index is not None:
            entry = {"index": index, **entry}
        self.append(entry)


def text_problem(value: str) -> str:
    """Why ``value`` cannot be stored as text ('' when it can)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (a lone surrogate was sent)"
    return ""


def text(
    errors: Errors,
    index: int | str | None,
    value: Any,
    field: str,
    *,
    max_length: int,
    required: bool = False,
    truncate: bool = False,
) -> str:
    if value is None or value == "":
        if required:
            errors.add(index, field, "is required")
        return ""
    if not isinstance(value, str):
        errors.add(index, field, "must be a string")
        return ""
    problem = text_problem(value)
    if problem:
        errors.add(index, field, problem)
        return ""
    if len(value) > max_length:
        if truncate:
            return value[: max_length - 1] + "…"
        errors.add(index, field, f"must be at most {max_length} characters")
        return ""
    return value


def number(
    errors: Errors,
    index: int | str | None,
    value: Any,
    field: str,
    *,
    maximum: float,
    minimum: float = 0,
    integer: bool = False,
    required: bool = False,
) -> Any:
    """A bounded number (int when ``integer``); strings, booleans and non-finite values are refused."""
    if value is None:
        if required:
            errors.add(index, field, "is required")
        return None
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.add(index, field, f"must be {kind}, not {type(value).__name__}")
        return None
    if integer and isinstance(value, float):
        if not value.is_integer():
            errors.add(index, field, f"must be {kind}")
            return None
        value = int(value)
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(index, field, "must be a finite number")
        return None
    # Compared before converting: a 400-digit integer never reaches float().
    if value < minimum:
        errors.add(index, field, "must not be negative" if minimum == 0 else f"must be at least {minimum:g}")
        return None
    if value > maximum:
        errors.add(index, field, f"must be at most {maximum:g}")
        return None
    return int(value) if integer else float(value)


def boolean(errors: Errors, index: int | str | None, value: Any, field: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        errors.add(index, field, "must be true or false")
        return None
    return value


_window: dict[str, Any] = {"now": None, "days": 7}


def _max_age_days(now: dt.datetime) -> int:
    """INGEST_MAX_AGE_DAYS, read once per batch (every item of a batch shares its ``now``)."""
    if _window["now"] is not now:
        _window.update(now=now, days=metrics_conf.INGEST_MAX_AGE_DAYS.get())
    return int(_window["days"])


def check_time(at: dt.datetime, now: dt.datetime) -> str:
    """Why ``at`` is refused ('' when accepted): not in the future, not older than the ingest window."""
    if at > now + FUTURE_SLACK:
        return "is more than 5 minutes in the future"
    days = _max_age_days(now)
    if at < now - dt.timedelta(days=days):
        return f"is older than {days} days"
    return ""


def moment(errors: Errors, index: int | str | None, value: Any, field: str, now: dt.datetime) -> dt.datetime | None:
    """A time as ISO-8601 with a zone or Unix seconds, within the accepted window."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors.add(index, field, "must be an ISO-8601 date-time or Unix seconds")
        return None
    if isinstance(value, (int, float)):
        if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value < 1e11:
            errors.add(index, field, "is out of range (Unix seconds expected)")
            return None
        at = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    else:
        if text_problem(value) or len(value) > 40:
            errors.add(index, field, "must be an ISO-8601 date-time such as 2026-03-01T12:00:00Z")
            return None
        try:
            at = dt.datetime.fromisoformat(value)
        except ValueError:
            errors.add(index, field, "must be an ISO-8601 date-time such as 2026-03-01T12:00:00Z")
            return None
        if at.tzinfo is None:
            errors.add(index, field, "must include a timezone (for example Z or +02:00)")
            return None
        offset = at.utcoffset()
        if offset is not None and abs(offset) > dt.timedelta(hours=15):
            errors.add(index, field, "has a timezone offset beyond ±15 hours")
            return None
    problem = check_time(at, now)
    if problem:
        errors.add(index, field, problem)
        return None
    return at


def from_unix_nano(errors: Errors, index: int | str | None, value: Any, field: str, now: dt.datetime) -> Any:
    """An OTLP fixed64 time in nanoseconds (a number, or a decimal string in OTLP JSON)."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        errors.add(index, field, "must be nanoseconds since the Unix epoch")
        return None
    at = dt.datetime.fromtimestamp(value / 1e9, tz=dt.UTC)
    problem = check_time(at, now)
    if problem:
        errors.add(index, field, problem)
        return None
    return at


def attributes(errors: Errors, index: int | str | None, value: Any, field: str) -> dict[str, Any]:
    """A flat JSON object of extra attributes, at most ATTRIBUTES_MAX_BYTES once encoded."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(index, field, "must be an object")
        return {}
    return bounded(errors, index, value, field)


def bounded(errors: Errors, index: int | str | None, value: dict[str, Any], field: str) -> dict[str, Any]:
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        errors.add(index, field, "must hold only JSON values (no NaN or Infinity)")
        return {}
    problem = text_problem(encoded)
    if problem:
        errors.add(index, field, problem)
        return {}
    if len(encoded.encode()) > ATTRIBUTES_MAX_BYTES:
        errors.add(index, field, f"must be at most {ATTRIBUTES_MAX_BYTES} bytes as JSON")
        return {}
    return value


def now() -> dt.datetime:
    return timezone.now()
