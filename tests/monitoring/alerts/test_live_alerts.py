"""Live alerts (issue 9, case 3): while firing, every evaluation refreshes value, summary and
last_seen_at; the alert page, the Metrics page and the dashboard show the same number; the
timeline records threshold crossings, not evaluations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client

from monitoring.metrics.evaluation import SampleIn, evaluate, record_samples
from monitoring.models import Alert, Metric
from tests.monitoring.metrics.factories import ensure_runbook_metrics

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_a_firing_alert_follows_the_value_and_the_three_pages_agree(client_for: Callable[[str], Client]) -> None:
    """As seen: the alert kept its first summary (91.67%) while the Metrics page said 50%; last_seen_at == started_at."""
    memory = Metric.objects.get(key="memory_usage")
    Metric.objects.filter(pk=memory.pk).update(for_seconds=0, clear_threshold=70.0)
    values = [91.67, 95.5, 78.25, 88.0, 83.33]
    for minute, value in enumerate(values):
        with time_machine.travel(at(minute), tick=False):
            record_samples([SampleIn(memory.pk, "host:web1", value, at(minute))])
            evaluate(compute=False)
    alert = Alert.objects.get(dedup_key="metric:memory_usage:host:web1")
    assert alert.state == "firing"
    assert alert.summary == "Memory Usage is 83.33% on host web1 (alert if >80%)"
    assert alert.details["value"] == 83.33 and alert.last_seen_at == at(4) and alert.started_at == at(0)
    # 95.5 -> 78.25 dropped under the alert threshold (not yet clear), 88 crossed it again: two entries.
    crossings = list(alert.events.filter(kind="updated").values_list("note", flat=True))
    assert crossings == [
        "back within the threshold, not yet clear: Memory Usage is 78.25% on host web1 (alert if >80%)",
        "past the threshold again: Memory Usage is 88% on host web1 (alert if >80%)",
    ]
    with time_machine.travel(at(4), tick=False):
        client = client_for("viewer")
        alert_page = client.get(f"/alerts/{alert.pk}/").content.decode()
        metrics_page = client.get("/metrics/").content.decode()
        dashboard = client.get("/").content.decode()
    shown = {
        "alert": re.search(r'data-testid="alert-value">([^ <]+)', alert_page).group(1),
        "metrics": "83.33%" if "83.33%" in metrics_page else None,
        "dashboard": "83.33%" if "Memory Usage is 83.33% on host web1" in dashboard else None,
    }
    assert shown == {"alert": "83.33%", "metrics": "83.33%", "dashboard": "83.33%"}
