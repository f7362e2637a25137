"""A long slow burn opens the ticket (1x over 3 days and 6 hours) and no page (issue 9, item 1)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from monitoring.metrics.evaluation import evaluate
from monitoring.models import Alert, CheckRollup
from tests.monitoring.metrics.factories import ensure_runbook_metrics
from tests.monitoring.metrics.history import add_day_rows, add_hour_rows
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def history(service_id: int, days: int = 4, hourly_failure_every: int = 2, minute_failure_every: int = 125) -> None:
    """Hour rows for ``days`` days and minute rows for the last 7 hours: about 0.2% of checks failing."""
    rows = []
    start = NOW.replace(minute=0) - dt.timedelta(days=days)
    hour = start
    n = 0
    while hour < NOW.replace(minute=0) - dt.timedelta(hours=7):
        failures = 1 if n % hourly_failure_every == 0 else 0
        rows.append(CheckRollup(service_id=service_id, resolution="hour", start=hour, count=240, failures=failures))
        hour += dt.timedelta(hours=1)
        n += 1
    minute = hour
    m = 0
    while minute < NOW:
        failures = 1 if m % minute_failure_every == 7 else 0
        rows.append(CheckRollup(service_id=service_id, resolution="minute", start=minute, count=4, failures=failures))
        minute += dt.timedelta(minutes=1)
        m += 1
    CheckRollup.objects.bulk_create(rows)
    add_hour_rows(NOW, service_id)  # the last 7 hours, from their minute rows
    add_day_rows(NOW, service_id)


def test_a_slow_burn_of_twice_the_budget_opens_a_ticket_not_a_page() -> None:
    api = ServiceFactory(slug="api", name="API")
    history(api.pk)
    with time_machine.travel(NOW, tick=False):
        evaluate(NOW)
    open_keys = set(Alert.objects.exclude(state="resolved").values_list("dedup_key", flat=True))
    assert "slo:uptime:service:api:ticket" in open_keys
    assert "slo:uptime:service:api:page" not in open_keys
    ticket = Alert.objects.get(dedup_key="slo:uptime:service:api:ticket")
    assert ticket.severity == "warning"
    rule = ticket.details["rules"][0]
    assert (
        rule["long"] == "3d" and rule["short"] == "6h" and 1.5 < rule["long_burn"] < 3 and 1.5 < rule["short_burn"] < 3
    )
    assert ticket.summary.startswith("API: error budget of Uptime 99.9% burning slowly: ")


def test_the_same_burn_on_a_fresh_service_opens_no_ticket() -> None:
    api = ServiceFactory(slug="api", name="API")
    history(api.pk, days=1)  # one day of a 3-day window: under the 75% a slow burn needs
    with time_machine.travel(NOW, tick=False):
        evaluate(NOW)
    assert not Alert.objects.filter(dedup_key__startswith="slo:").exists()
