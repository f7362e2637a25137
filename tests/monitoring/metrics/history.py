"""Rollup history written straight into the tables for the SLO tests: what the probes and
``rollup()`` leave behind, including the day rows ``rollup()`` keeps from the hour rows."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum
from django.db.models.functions import TruncDay, TruncHour

from monitoring.models import CheckRollup


def add_hour_rows(now: dt.datetime, service_id: int) -> None:
    """Hour rows summing the service's minute rows of every hour before this one, as rollup() writes them."""
    hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    rows = (
        CheckRollup.objects.filter(resolution="minute", start__lt=hour, service_id=service_id)
        .annotate(h=TruncHour("start", tzinfo=dt.UTC))
        .order_by()
        .values("h")
        .annotate(n=Sum("count"), f=Sum("failures"))
    )
    CheckRollup.objects.bulk_create(
        [
            CheckRollup(service_id=service_id, resolution="hour", start=r["h"], count=r["n"], failures=r["f"])
            for r in rows
        ]
    )


def add_day_rows(now: dt.datetime, service_id: int | None = None) -> None:
    """Day rows summing each service's hour rows of every day before today, as rollup() writes them."""
    today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hours = CheckRollup.objects.filter(resolution="hour", start__lt=today)
    if service_id is not None:
        hours = hours.filter(service_id=service_id)
    rows = (
        hours.annotate(day=TruncDay("start", tzinfo=dt.UTC))
        .order_by()
        .values("service_id", "day")
        .annotate(n=Sum("count"), f=Sum("failures"))
    )
    CheckRollup.objects.bulk_create(
        [
            CheckRollup(service_id=r["service_id"], resolution="day", start=r["day"], count=r["n"], failures=r["f"])
            for r in rows
        ]
    )
