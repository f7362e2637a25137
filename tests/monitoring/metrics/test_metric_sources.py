"""Metric sources: values computed from the probe rollups, and host values collected on a worker."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest
import time_machine

from monitoring.metrics.evaluation import evaluate
from monitoring.metrics.host_metrics import collect_and_store, collect_host
from monitoring.models import Alert, CheckResult, Metric, MetricSeries
from monitoring.services import rollups
from monitoring.services.histogram import exact_quantile
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def results(service: Any, latencies: list[float], failures: int, start: dt.datetime) -> None:
    rows = [
        CheckResult(service=service, at=start + dt.timedelta(seconds=5 * i), ok=True, latency_ms=ms)
        for i, ms in enumerate(latencies)
    ]
    rows += [
        CheckResult(service=service, at=start + dt.timedelta(seconds=5 * (len(latencies) + i)), ok=False, error="503")
        for i in range(failures)
    ]
    CheckResult.objects.bulk_create(rows)


def test_p95_error_rate_and_uptime_from_the_rollups() -> None:
    api, web = ServiceFactory(slug="api", name="API"), ServiceFactory(slug="web", name="Web")
    api_latencies = [100.0 + i for i in range(95)] + [3000.0] * 5
    web_latencies = [40.0] * 100
    results(api, api_latencies, failures=3, start=T0 - dt.timedelta(minutes=10))
    results(web, web_latencies, failures=0, start=T0 - dt.timedelta(minutes=10))
    with time_machine.travel(T0, tick=False):
        rollups.rollup()
        report = evaluate()
    values = {(s.metric.key, s.label): s.last_value for s in MetricSeries.objects.select_related("metric")}
    p95 = values[("api_response_time_p95", "service:api")]
    exact = exact_quantile(api_latencies, 0.95)
    assert exact is not None and abs(p95 - exact) / exact < 0.1  # within one histogram bucket
    assert values[("api_response_time_p95", "service:web")] == pytest.approx(40.0, rel=0.1)
    assert values[("error_rate", "service:api")] == pytest.approx(300 / 103)
    assert values[("error_rate", "service:web")] == 0.0
    assert values[("error_rate", "all")] == pytest.approx(300 / 203)
    # Uptime is the 30-day rule: judged once 75% of the window is watched (issue 9), not on 10 minutes.
    assert values[("uptime", "service:api")] is None and values[("uptime", "all")] is None
    uptime = MetricSeries.objects.get(metric__key="uptime", label="service:api")
    assert 0 < uptime.info["coverage"] < 0.001 and uptime.info["min_coverage"] == 0.75
    # Error rate 2.9% > 1% (and failing in its last minutes) waits out its 5 minutes. Nor does the
    # SLO page: 2.9% of the 10 watched minutes is 29x the 0.1% budget, but over the hour (the page's
    # long window) 3 failed checks of 5 s are 4.8x, 0.6% of the 30-day budget where a page needs 2%
    # (tests/monitoring/metrics/test_fresh_burn.py).
    assert report.raised == 0 and not Alert.objects.exists()
    assert MetricSeries.objects.get(metric__key="error_rate", label="service:api").state == "pending"


def test_uptime_over_30_days_reads_hour_rows() -> None:
    Metric.objects.filter(key="uptime").update(min_coverage_percent=0)  # judge the 3 days there are
    api = ServiceFactory(slug="api", name="API")
    results(api, [50.0] * 20, failures=0, start=T0 - dt.timedelta(days=3))
    results(api, [50.0] * 18, failures=2, start=T0 - dt.timedelta(minutes=20))
    with time_machine.travel(T0, tick=False):
        rollups.rollup()
        evaluate()
    series = MetricSeries.objects.get(metric__key="uptime", label="service:api")
    assert series.last_value == pytest.approx(100 * 38 / 40)


def test_host_collector_reports_memory_disk_and_database_connections(settings: Any, tmp_path: Any) -> None:
    settings.DISK_PATHS = [str(tmp_path)]
    settings.METRICS_DATABASES = ["default", "env:OPSPORTAL_NO_SUCH_DSN"]
    samples = {(s.metric_id, s.label): s for s in collect_host("worker-7")}
    labels = {label for _m, label in samples}
    assert labels == {"host:worker-7", f"host:worker-7:{tmp_path}", "db:default"}
    for sample in samples.values():
        assert 0 <= sample.value <= 100 or sample.label == "db:default"
    db = next(s for s in samples.values() if s.label == "db:default")
    assert db.value >= 1 and db.info["max_connections"] >= db.value
    assert collect_and_store() == 3
    series = MetricSeries.objects.get(label="db:default")
    assert series.info["max_connections"] >= 1 and series.last_value >= 1
    assert MetricSeries.objects.filter(label=f"host:{socket.gethostname()}").exists()


def test_too_few_checks_give_no_value(settings: Any) -> None:
    settings.PROBE_METRIC_MIN_CHECKS = 10
    api = ServiceFactory(slug="api", name="API")
    results(api, [50.0] * 4, failures=1, start=T0 - dt.timedelta(minutes=3))
    with time_machine.travel(T0, tick=False):
        rollups.rollup()
        evaluate()
    assert not MetricSeries.objects.filter(metric__key="uptime", last_value__isnull=False).exists()
    assert not Alert.objects.exists()  # nor a burn-rate page: too few checks in its long window
