"""When a service is probed: slots on a grid of its interval, shifted by a stable per-service offset.

A service's slots are ``EPOCH + offset + k * interval``, the offset taken from its ping key (a
random UUID given at creation), so services registered or imported together are spread evenly
over their interval instead of all falling due at once, and every worker computes the same slots.
A new service's first due time is its first slot from now; after a probe the next due time is the
slot an interval on. A due time found long past (no dispatcher ran meanwhile: the worker started
after the service was registered, or was down) is *stale*: it is not probed late and then again
at its slot a few seconds later, it is moved to its next slot, so every service is probed once per
interval from the first minute on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from monitoring.services.choices import CheckType

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


def unscheduled() -> dt.datetime:
    """The default due time of a Service not yet saved: ``Service.save()`` replaces it with the first slot."""
    return EPOCH


def offset(service: Any) -> dt.timedelta:
    """The service's stable shift within its interval, from its ping key."""
    step_us = max(1, int(service.interval_seconds)) * 1_000_000
    key = service.ping_key if isinstance(service.ping_key, uuid.UUID) else uuid.UUID(str(service.ping_key))
    return dt.timedelta(microseconds=key.int % step_us)


def slot_at_or_after(service: Any, moment: dt.datetime) -> dt.datetime:
    """The service's first slot at or after ``moment``."""
    step_us = max(1, int(service.interval_seconds)) * 1_000_000
    shift_us = offset(service) // MICROSECOND
    since_us = (moment - EPOCH) // MICROSECOND - shift_us
    slots = -(-since_us // step_us)  # ceiling division
    return EPOCH + dt.timedelta(microseconds=shift_us + slots * step_us)


def first_due(service: Any, now: dt.datetime) -> dt.datetime:
    return slot_at_or_after(service, now)


def after_probe(service: Any, claimed_at: dt.datetime) -> dt.datetime:
    """The next due time of a service probed for its slot ``next_due_at``, claimed at ``claimed_at``.

    On time, that is the slot an interval on. Whatever happened (a late pass, a changed interval,
    a due time set by hand), the next probe is at least half an interval after this one."""
    step = dt.timedelta(seconds=service.interval_seconds)
    return slot_at_or_after(service, max(service.next_due_at, claimed_at) + step / 2)


def after_manual_probe(service: Any, now: dt.datetime) -> dt.datetime:
    """After a probe outside the schedule ("probe now"): its first slot at least half an interval later."""
    return slot_at_or_after(service, now + dt.timedelta(seconds=service.interval_seconds) / 2)


def is_stale(service: Any, fresh_since: dt.datetime) -> bool:
    """Due before ``fresh_since`` (the previous dispatcher pass): no dispatcher was there to probe it.

    Heartbeat checks are never stale: their due time is a deadline, and a passed deadline is the alarm."""
    return service.check_type != CheckType.HEARTBEAT and service.next_due_at < fresh_since
