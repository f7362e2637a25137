"""The error budget on screen (issue 9, item 2) and the burn-rate rules editable per metric (item 1)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from monitoring.metrics.slo import budgets
from monitoring.models import BurnRateRule, CheckRollup, Metric, Service
from opsportal.models import AuditRecord
from tests.monitoring.metrics.factories import ensure_runbook_metrics
from tests.monitoring.metrics.history import add_day_rows, add_hour_rows
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


NOW = dt.datetime(2026, 3, 31, 12, 0, 30, tzinfo=dt.UTC)


def history(service: Service, *, days: int, failures_per_hour: int, last_hour_failures: int) -> None:
    rows = []
    hour = NOW.replace(minute=0, second=0) - dt.timedelta(days=days)
    top = NOW.replace(minute=0, second=0) - dt.timedelta(hours=1)
    while hour < top:
        rows.append(CheckRollup(service=service, resolution="hour", start=hour, count=240, failures=failures_per_hour))
        hour += dt.timedelta(hours=1)
    for m in range(61):
        start = top + dt.timedelta(minutes=m)
        if start < NOW:
            rows.append(
                CheckRollup(
                    service=service,
                    resolution="minute",
                    start=start,
                    count=4,
                    failures=1 if 1 <= m <= last_hour_failures else 0,
                )
            )
    CheckRollup.objects.bulk_create(rows)
    add_hour_rows(NOW, service.pk)  # the last hour, from its minute rows
    add_day_rows(NOW, service.pk)


def test_the_budget_spent_burn_rate_and_when_it_runs_out() -> None:
    api = ServiceFactory(slug="api", name="API")
    history(api, days=30, failures_per_hour=0, last_hour_failures=6)  # 6 failed checks of 240 in the last hour
    budget = budgets([api], NOW)[api.pk]
    assert budget.budget_minutes == pytest.approx(43.2)  # 0.1% of 30 days
    assert budget.burn_now == pytest.approx((6 / 240) / 0.001, rel=0.02)  # 25x
    # 6 failed checks of all the window's checks, over the watched part of 30 days
    assert 0 < budget.spent_percent < 5
    eta = budget.exhausted_in
    assert eta is not None and dt.timedelta(hours=20) < eta < dt.timedelta(hours=30)


def test_the_service_page_and_the_list_show_the_budget(client_for: Callable[[str], Client]) -> None:
    api = ServiceFactory(slug="api", name="API")
    history(api, days=10, failures_per_hour=1, last_hour_failures=0)
    with time_machine.travel(NOW, tick=False):
        page = client_for("viewer").get("/services/api/").content.decode()
        listing = client_for("viewer").get("/services/").content.decode()
    panel = page[page.index('data-testid="error-budget"') :]
    assert "43.2 min of failed checks in 30d" in panel
    assert 'class="burn-down"' in panel and "<path d=" in panel
    assert re.search(r'data-testid="budget-eta">[^<]*(not burning|spent|in \d)', panel)
    assert "Error budget</th>" in listing and "% left</span>" in listing


def test_the_services_list_reads_budgets_in_a_fixed_number_of_queries(client_for: Callable[[str], Client]) -> None:
    client = client_for("viewer")

    def count(n: int) -> int:
        for i in range(Service.objects.count(), n):
            history(ServiceFactory(slug=f"s{i}", name=f"S{i}"), days=2, failures_per_hour=0, last_hour_failures=1)
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
            assert client.get("/services/").status_code == 200
        return len(queries)

    assert count(3) == count(12)


def test_an_editor_changes_the_windows_and_factors_of_a_metric(client_for: Callable[[str], Client]) -> None:
    uptime = Metric.objects.get(key="uptime")
    rules = list(BurnRateRule.objects.filter(metric=uptime).order_by("position"))
    assert [(r.severity, r.factor, r.long_window_minutes, r.short_window_minutes) for r in rules] == [
        ("critical", 14.4, 60, 5),
        ("critical", 6.0, 360, 30),
        ("warning", 1.0, 4320, 360),
    ]
    editor = client_for("editor")
    form = editor.get("/metrics/uptime/edit/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update({"for_minutes": 0, "enabled": "on", "rules-TOTAL_FORMS": 3, "rules-INITIAL_FORMS": 3})
    data.update({"rules-MIN_NUM_FORMS": 0, "rules-MAX_NUM_FORMS": 1000})
    for i, r in enumerate(rules):
        data.update(
            {
                f"rules-{i}-id": r.pk,
                f"rules-{i}-severity": r.severity,
                f"rules-{i}-factor": 10.0 if i == 0 else r.factor,
                f"rules-{i}-long_window_minutes": r.long_window_minutes,
                f"rules-{i}-short_window_minutes": r.short_window_minutes,
            }
        )
    response = editor.post("/metrics/uptime/edit/", data)
    assert response.status_code == 302, (response.context["form"].errors, response.context["rules"].errors)
    assert BurnRateRule.objects.get(pk=rules[0].pk).factor == 10.0
    assert AuditRecord.objects.filter(object_type__icontains="burnraterule").exists()
    data["rules-0-short_window_minutes"] = 90  # longer than its long window
    response = editor.post("/metrics/uptime/edit/", data)
    assert response.status_code == 200
    assert "The short window must be shorter than the long one." in response.content.decode()
    assert client_for("viewer").get("/metrics/uptime/edit/").status_code == 403
