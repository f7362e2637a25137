"""When a heartbeat check expects its next ping: a fixed period, or the next time of a cron
expression in a time zone, plus a grace; pure functions of a service's fields (no queries)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter
from django.conf import settings

from monitoring.services.choices import HeartbeatSchedule

BAD_CRON = (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, ValueError, KeyError)


def zone_of(service: Any) -> zoneinfo.ZoneInfo:
    """The cron expression's zone: the check's own, else the portal's TIME_ZONE."""
    return zoneinfo.ZoneInfo(service.heartbeat_timezone or settings.TIME_ZONE)


def schedule_errors(service: Any) -> dict[str, str]:
    """Field errors of a heartbeat schedule (empty when it is valid)."""
    errors: dict[str, str] = {}
    if service.heartbeat_timezone:
        try:
            zoneinfo.ZoneInfo(service.heartbeat_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["heartbeat_timezone"] = "Not a time zone name such as Europe/Berlin or UTC."
    if service.heartbeat_schedule == HeartbeatSchedule.CRON:
        expression = (service.heartbeat_cron or "").strip()
        if not expression:
            errors["heartbeat_cron"] = "A cron schedule needs an expression, e.g. 0 2 * * *."
        elif len(expression.split()) != 5 or not croniter.is_valid(expression):
            errors["heartbeat_cron"] = "Not a five-field cron expression (minute hour day month weekday)."
    return errors


def expected_after(service: Any, when: dt.datetime) -> dt.datetime:
    """The first time after ``when`` at which the job should ping (aware, in UTC)."""
    if service.heartbeat_schedule == HeartbeatSchedule.CRON and service.heartbeat_cron:
        local = when.astimezone(zone_of(service))
        try:
            following = croniter(service.heartbeat_cron, local).get_next(dt.datetime)
        except BAD_CRON:
            following = local + dt.timedelta(days=1)  # refused at save time; never stop watching
        return following.astimezone(dt.UTC)
    return (when + dt.timedelta(seconds=service.heartbeat_period_seconds)).astimezone(dt.UTC)


def deadline_after(service: Any, when: dt.datetime) -> dt.datetime:
    """Past this time without a ping, the check is down: the next expected ping plus the grace."""
    return expected_after(service, when) + dt.timedelta(seconds=service.heartbeat_grace_seconds)


def next_expected(service: Any) -> dt.datetime | None:
    """When the next ping is expected, given the last one (or the check's creation)."""
    anchor = service.last_ping_at or getattr(service, "created_at", None)
    return expected_after(service, anchor) if anchor else None


def is_late(service: Any, now: dt.datetime) -> bool:
    """Past the expected time but still within the grace: shown as late, not yet down."""
    expected = next_expected(service)
    return expected is not None and expected < now < expected + dt.timedelta(seconds=service.heartbeat_grace_seconds)


def describe(service: Any) -> str:
    """The schedule in words, for pages: "every 1 d, grace 1 h" or "cron 0 2 * * * (Europe/Berlin), grace 1 h"."""
    from opsportal.formatting import duration

    grace = duration(service.heartbeat_grace_seconds)
    if service.heartbeat_schedule == HeartbeatSchedule.CRON:
        return f"cron {service.heartbeat_cron} ({zone_of(service).key}), grace {grace}"
    return f"every {duration(service.heartbeat_period_seconds)}, grace {grace}"
