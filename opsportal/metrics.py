"""The portal's own Prometheus metrics, served at /metrics.

Request counters live in each web process. Job counters come from the Heartbeat rows that
workers keep, so /metrics on any web host reports the work of every worker host.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "opsportal_http_requests",
    "HTTP requests handled, by view, method and status",
    ["view", "method", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "opsportal_http_request_duration_seconds",
    "Time to handle a request, by view",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


class HeartbeatCollector(Collector):
    """Job counters and heartbeat ages of every worker and beat process, read from the database."""

    def describe(self) -> list[object]:
        return []  # keeps registration from querying the database at import time

    def collect(self) -> Iterator[object]:
        from django.db import DatabaseError
        from django.utils import timezone

        from .models import Heartbeat

        jobs = CounterMetricFamily("opsportal_jobs", "Celery tasks finished by a worker", labels=["worker", "outcome"])
        age = GaugeMetricFamily(
            "opsportal_heartbeat_age_seconds", "Seconds since a process was last seen", labels=["kind", "name"]
        )
        try:
            now = timezone.now()
            for hb in Heartbeat.objects.all():
                if hb.kind == Heartbeat.Kind.WORKER:
                    jobs.add_metric([hb.name, "succeeded"], hb.tasks_succeeded)
                    jobs.add_metric([hb.name, "failed"], hb.tasks_failed)
                    jobs.add_metric([hb.name, "retried"], hb.tasks_retried)
                age.add_metric([hb.kind, hb.name], hb.age_seconds(now))
        except DatabaseError:
            return
        yield jobs
        yield age


_extra_collectors: dict[type, Collector] = {}


def register_collector(collector: Collector) -> None:
    """Let a domain app (monitoring, backups) add its own gauges to /metrics.

    Idempotent: one collector per class, so an app's ``ready()`` may run twice (tests reload
    apps) without prometheus-client refusing the second registration of the same gauges.
    """
    if type(collector) in _extra_collectors:
        return
    REGISTRY.register(collector)
    _extra_collectors[type(collector)] = collector


REGISTRY.register(HeartbeatCollector())


def render() -> bytes:
    return generate_latest(REGISTRY)
