"""Evaluation with frozen time: thresholds, "for" durations, hysteresis, no data, hand resolution."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from monitoring.alerts.public import register_metric_source
from monitoring.metrics.evaluation import SampleIn, evaluate, record_samples, step
from monitoring.models import Alert, Metric, MetricSample, MetricSeries

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def push(metric: Metric, value: float, label: str = "host:web1") -> None:
    record_samples([SampleIn(metric.pk, label, value, timezone.now())])


def series(metric: Metric, label: str = "host:web1") -> MetricSeries:
    return MetricSeries.objects.get(metric=metric, label=label)


def open_alert(key: str) -> Alert | None:
    return Alert.objects.filter(dedup_key=key).exclude(state="resolved").first()


@pytest.fixture
def memory() -> Metric:
    metric = Metric.objects.get(key="memory_usage")  # alert >80%, for 5 minutes
    metric.clear_threshold = 70.0
    metric.save()
    return metric


def minute(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def test_breach_is_pending_until_the_for_duration_then_fires(memory: Metric) -> None:
    key = "metric:memory_usage:host:web1"
    with time_machine.travel(minute(0), tick=False):
        push(memory, 85.0)
        evaluate(compute=False)
        assert series(memory).state == "pending" and open_alert(key) is None
    for n in (1, 2, 3, 4):
        with time_machine.travel(minute(n), tick=False):
            push(memory, 86.0)
            evaluate(compute=False)
            assert series(memory).state == "pending", n
    with time_machine.travel(minute(5), tick=False):
        push(memory, 87.0)
        report = evaluate(compute=False)
    assert report.raised == 1
    alert = open_alert(key)
    assert alert is not None and alert.severity == "warning" and alert.runbook == "High Memory Usage"
    assert "Memory Usage is 87% on host web1 (alert if >80%)" == alert.summary
    assert alert.events.filter(kind="fired").count() == 1


def test_a_dip_below_the_threshold_restarts_the_for_duration(memory: Metric) -> None:
    for n, value in [(0, 90.0), (3, 79.0), (4, 90.0), (8, 90.0)]:
        with time_machine.travel(minute(n), tick=False):
            push(memory, value)
            evaluate(compute=False)
    assert series(memory).state == "pending"
    with time_machine.travel(minute(9), tick=False):
        push(memory, 90.0)
        evaluate(compute=False)
    assert series(memory).state == "firing"
    assert series(memory).breach_since == minute(4)


def test_hysteresis_resolves_only_past_the_clear_threshold(memory: Metric) -> None:
    key = "metric:memory_usage:host:web1"
    memory.for_seconds = 0
    memory.save()
    with time_machine.travel(minute(0), tick=False):
        push(memory, 95.0)
        evaluate(compute=False)
    assert open_alert(key) is not None
    with time_machine.travel(minute(1), tick=False):
        push(memory, 75.0)  # below the alert threshold (80) but above the clear threshold (70)
        evaluate(compute=False)
    assert series(memory).state == "firing" and open_alert(key) is not None
    with time_machine.travel(minute(2), tick=False):
        push(memory, 69.0)
        report = evaluate(compute=False)
    assert report.resolved == 1 and open_alert(key) is None
    resolved = Alert.objects.get(dedup_key=key)
    assert resolved.state == "resolved" and resolved.resolved_by is None
    assert "back to 69% (≤70%)" in resolved.events.get(kind="resolved").note


def test_exactly_at_the_threshold_does_not_breach(memory: Metric) -> None:
    memory.for_seconds = 0
    memory.save()
    with time_machine.travel(minute(0), tick=False):
        push(memory, 80.0)
        evaluate(compute=False)
    assert series(memory).state == "ok"


def test_stale_values_are_no_data_and_do_not_resolve_a_firing_alert(memory: Metric) -> None:
    memory.for_seconds = 0
    memory.save()
    with time_machine.travel(minute(0), tick=False):
        push(memory, 95.0)
        evaluate(compute=False)
    with time_machine.travel(minute(30), tick=False):  # nothing pushed for 30 minutes (stale after 10)
        evaluate(compute=False)
    assert series(memory).state == "firing" and open_alert("metric:memory_usage:host:web1") is not None
    push_label = "host:web2"
    with time_machine.travel(minute(31), tick=False):
        push(memory, 50.0, push_label)
    with time_machine.travel(minute(45), tick=False):
        evaluate(compute=False)
    assert series(memory, push_label).state == "nodata"


def test_lower_is_worse_metric_uses_below(db: Any) -> None:
    uptime = Metric.objects.get(key="uptime")  # alert <99%, for 0
    with time_machine.travel(minute(0), tick=False):
        push(uptime, 98.5, "push:api")
        evaluate(compute=False)
    assert open_alert("metric:uptime:push:api") is not None
    with time_machine.travel(minute(1), tick=False):
        push(uptime, 99.95, "push:api")
        evaluate(compute=False)
    assert open_alert("metric:uptime:push:api") is None


def test_resolving_by_hand_while_breaching_reopens_at_the_next_evaluation(
    memory: Metric, users: dict[str, Any]
) -> None:
    """Resolution follows the condition (issue 9): no grace period that hides a still-breaching value."""
    key = "metric:memory_usage:host:web1"
    with time_machine.travel(minute(0), tick=False):
        push(memory, 95.0)
        evaluate(compute=False)
    with time_machine.travel(minute(5), tick=False):
        push(memory, 95.0)
        evaluate(compute=False)
        first = open_alert(key)
        assert first.resolve(actor=users["editor"], note="known, fixing")
    with time_machine.travel(minute(6), tick=False):
        push(memory, 95.0)
        evaluate(compute=False)
    second = open_alert(key)
    assert series(memory).state == "firing" and second is not None and second.reopens_id == first.pk
    assert Alert.objects.filter(dedup_key=key).count() == 2


def test_resolving_by_hand_after_the_value_cleared_starts_over(memory: Metric, users: dict[str, Any]) -> None:
    key = "metric:memory_usage:host:web1"
    for n in range(6):
        with time_machine.travel(minute(n), tick=False):
            push(memory, 95.0)
            evaluate(compute=False)
    with time_machine.travel(minute(6), tick=False):
        assert open_alert(key).resolve(actor=users["editor"], note="fixed")
        push(memory, 50.0)
        evaluate(compute=False)
    assert series(memory).state == "ok" and open_alert(key) is None


def test_disabled_metric_resolves_its_alerts_and_stops(memory: Metric) -> None:
    memory.for_seconds = 0
    memory.save()
    with time_machine.travel(minute(0), tick=False):
        push(memory, 95.0)
        evaluate(compute=False)
    memory.enabled = False
    memory.save()
    with time_machine.travel(minute(1), tick=False):
        push(memory, 99.0)
        evaluate(compute=False)
    assert open_alert("metric:memory_usage:host:web1") is None


def test_provider_source_backup_age(db: Any) -> None:
    ages = {"policy:nightly-db": 30.0, "policy:media": 50.0}
    register_metric_source("backup_age_hours", lambda: dict(ages))
    with time_machine.travel(minute(0), tick=False):
        report = evaluate()
    assert report.samples >= 2
    assert open_alert("metric:backup_age:policy:media") is not None
    assert open_alert("metric:backup_age:policy:nightly-db") is None
    assert MetricSample.objects.filter(series__label="policy:media").count() == 1
    ages["policy:media"] = 2.0
    with time_machine.travel(minute(1), tick=False):
        evaluate()
    assert open_alert("metric:backup_age:policy:media") is None


def test_a_failing_provider_does_not_stop_evaluation(db: Any, memory: Metric) -> None:
    def broken() -> dict[str, float]:
        raise RuntimeError("backups app is broken")

    register_metric_source("backup_age_hours", broken)
    memory.for_seconds = 0
    memory.save()
    with time_machine.travel(minute(0), tick=False):
        push(memory, 95.0)
        report = evaluate()
    assert report.raised == 1


def test_step_is_a_pure_state_machine(memory: Metric) -> None:
    assert step(memory, "ok", None, 85.0, T0) == ("pending", T0, None)
    assert step(memory, "pending", T0, 85.0, minute(5)) == ("firing", T0, "raise")
    assert step(memory, "firing", T0, 75.0, minute(6)) == ("firing", T0, None)
    assert step(memory, "firing", T0, 70.0, minute(6)) == ("ok", None, "resolve")
    assert step(memory, "pending", T0, None, minute(6)) == ("nodata", None, None)


def test_samples_keep_the_newest_value_even_when_they_arrive_out_of_order(memory: Metric) -> None:
    record_samples([SampleIn(memory.pk, "host:a", 50.0, minute(2))])
    record_samples([SampleIn(memory.pk, "host:a", 99.0, minute(1))])
    s = series(memory, "host:a")
    assert s.last_value == 50.0 and s.last_at == minute(2)
    assert s.samples.count() == 2
