"""Backup Age counts from the policy's creation while it has no good backup (issue 9, case 7).

Seen: a policy that never produced a good backup had no Backup Age series and never alerted,
though the runbook alerts at 48 h.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from backups.metrics import backup_age_hours
from monitoring.metrics.evaluation import evaluate
from monitoring.models import Alert, MetricSeries
from monitoring.public import register_metric_source
from tests.monitoring.metrics.factories import ensure_runbook_metrics

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_policy_that_never_succeeds_alerts_at_48_hours(make_policy: Callable[..., Any]) -> None:
    register_metric_source("backup_age_hours", backup_age_hours)  # as BackupsConfig.ready() does
    with time_machine.travel(T0, tick=False):
        policy = make_policy(name="Nightly DB", slug="nightly-db")
    key = f"metric:backup_age:policy:{policy.slug}"
    with time_machine.travel(T0 + dt.timedelta(hours=47, minutes=59), tick=False):
        evaluate()
    series = MetricSeries.objects.get(metric__key="backup_age", label=f"policy:{policy.slug}")
    assert 47.9 < series.last_value < 48.0
    assert not Alert.objects.filter(dedup_key=key).exists()
    with time_machine.travel(T0 + dt.timedelta(hours=48, minutes=1), tick=False):
        evaluate()
    alert = Alert.objects.get(dedup_key=key)
    assert alert.state == "firing"
    assert alert.summary == "Backup Age is 48.02h on policy nightly-db (alert if >48h)"
