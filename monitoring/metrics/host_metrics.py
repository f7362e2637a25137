"""Host metrics collected on each worker host: memory %, disk % of DISK_PATHS, PostgreSQL connections.

Every Celery worker runs ``collect_host()`` from its own timer (the ``HostMetrics`` bootstep,
added by the metrics part's setup()), so each worker host reports its own memory and disks;
series are labelled ``host:<name>`` and ``host:<name>:<path>``. PostgreSQL connections are
counted for each database named in METRICS_DATABASES: a Django alias (``default``) or
``env:VAR`` for a connection URL held in an environment variable; the label is ``db:<alias>``
or ``db:<VAR>``, never the URL.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import Any

import psutil
from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from monitoring.metrics import conf
from monitoring.metrics.choices import MetricSourceKind
from monitoring.metrics.evaluation import SampleIn, record_samples
from monitoring.metrics.models import Metric

log = logging.getLogger(__name__)

COLLECTORS = ("memory", "disk", "pg_connections")


def configured_databases() -> list[str]:
    return conf.METRICS_DATABASES.get()


def pg_connections(name: str) -> tuple[int, int] | None:
    """(open connections, max_connections) of one configured database, or None if not PostgreSQL/unreachable."""
    query = "SELECT count(*), current_setting('max_connections')::int FROM pg_stat_activity WHERE backend_type = 'client backend'"
    try:
        if name.startswith("env:"):
            import psycopg

            dsn = os.environ.get(name[4:], "")
            if not dsn:
                log.warning("METRICS_DATABASES: %s is not set", name[4:])
                return None
            with psycopg.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
                cursor.execute(query)
                used, limit = cursor.fetchone()
                return int(used), int(limit)
        conn = connections[name]
        if conn.vendor != "postgresql":
            return None
        with conn.cursor() as cursor:
            cursor.execute(query)
            used, limit = cursor.fetchone()
            return int(used), int(limit)
    except Exception as exc:  # noqa: BLE001 - an unreachable database is reported by the probes, not here
        log.warning("could not count connections of %s: %s", name, type(exc).__name__)
        return None


def collect_host(host: str | None = None, now: dt.datetime | None = None) -> list[SampleIn]:
    """Read this host's values for the collector metrics (those enabled)."""
    host = host or socket.gethostname()
    now = now or timezone.now()
    metrics = {
        m.source_name: m
        for m in Metric.objects.filter(enabled=True, source=MetricSourceKind.COLLECTOR, source_name__in=COLLECTORS)
    }
    samples: list[SampleIn] = []
    if "memory" in metrics:
        memory = psutil.virtual_memory()
        samples.append(
            SampleIn(
                metrics["memory"].pk, f"host:{host}", float(memory.percent), now, info={"total_bytes": memory.total}
            )
        )
    if "disk" in metrics:
        for path in settings.DISK_PATHS:
            try:
                usage = psutil.disk_usage(str(path))
            except OSError as exc:
                log.warning("disk usage of %s: %s", path, exc.strerror)
                continue
            label = f"host:{host}:{path}"[:150]
            info = {"path": str(path), "total_bytes": usage.total, "free_bytes": usage.free}
            samples.append(SampleIn(metrics["disk"].pk, label, float(usage.percent), now, info=info))
    if "pg_connections" in metrics:
        for name in configured_databases():
            counted = pg_connections(name)
            if counted is None:
                continue
            used, limit = counted
            label = f"db:{name[4:] if name.startswith('env:') else name}"
            samples.append(
                SampleIn(metrics["pg_connections"].pk, label, float(used), now, info={"max_connections": limit})
            )
    return samples


def collect_and_store(host: str | None = None) -> int:
    return record_samples(collect_host(host))


class HostMetrics(bootsteps.StartStopStep):
    """Runs the host collection every METRICS_COLLECT_SECONDS from the worker's own timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker: Any) -> None:
        every = conf.METRICS_COLLECT_SECONDS.get()
        if not every:
            return
        host = (worker.hostname or socket.gethostname()).split("@")[-1]
        self.tref = worker.timer.call_repeatedly(every, self._safe_collect, (host,), priority=10)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    @staticmethod
    def _safe_collect(host: str) -> None:
        try:
            close_old_connections()
            collect_and_store(host)
        except Exception:
            log.exception("host metric collection failed")
