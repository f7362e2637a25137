"""Benchmark the once-a-minute ticks of the pool: the rollup and the metric evaluation, CPU per tick.

    .venv/bin/python bench/ticks.py                              # 10,000 services, 5 minutes
    .venv/bin/python bench/ticks.py --services 5000 --minutes 8
    .venv/bin/python bench/ticks.py --history 15                  # steady state: every series has a value
    .venv/bin/python bench/ticks.py --profile eval               # cProfile of one evaluation tick (after the first)

A fresh database ``bench_ticks`` (dropped, created and migrated), N HTTP services registered
through the services import, then for each simulated minute: one CheckResult per service stamped
in the minute before ``now`` (one INSERT ... SELECT FROM unnest; every 50th service fails, as the
2% of hanging targets of bench/sustained.py do), then the beat's two tasks as they run them:
``monitoring.rollup_history`` (``rollup()`` inside ``record_job``) and ``monitoring.evaluate_metrics``
(``evaluate()``, ``check_certificates()``, ``end_flapping()`` inside ``record_job``), with the
simulated ``now`` passed. CPU seconds of this process (time.process_time) and of its PostgreSQL
backend (utime + stime from /proc) are taken around each task; the medians are over the minutes
after the first (the first tick creates the series rows). For reference, each minute also
measures merely loading the series rows as model instances. The machine is shared: CPU
seconds, not wall time, are the figures; the load average is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASE = "bench_ticks"
FAIL_EVERY = 50  # 2% of the services fail every probe


def setup(n: int) -> None:
    import psycopg

    os.environ.update(
        {
            "DATABASE_URL": f"{SERVER}/{DATABASE}",
            "DJANGO_SETTINGS_MODULE": "opsportal.settings",
            "DEBUG": "false",
            "HTTPS": "false",
            "STATIC_MANIFEST": "false",
            "SECRET_KEY": "bench-only-not-a-secret",
            "CACHE_URL": "locmemcache://bench-ticks",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_CONN_MAX_AGE": "600",
        }
    )
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from monitoring.services.import_export import import_services

    entries = [
        {
            "slug": f"svc-{i}",
            "name": f"Service {i}",
            "kind": "api",
            "check_type": "http",
            "url": f"http://127.0.0.1:9/op/{i}",
            "interval_seconds": 60,
            "timeout_seconds": 2.0,
        }
        for i in range(n)
    ]
    report = import_services({"services": entries})
    if not report.ok:
        raise SystemExit(f"import refused: {report.errors[:3]}")


def insert_minute(service_ids: list[int], now: dt.datetime) -> None:
    """One result per service, spread over the minute before ``now``; every 50th service fails."""
    from django.db import connection

    from monitoring.services.models import CheckResult

    n = len(service_ids)
    ats = [now - dt.timedelta(seconds=60 * (k + 1) / (n + 1)) for k in range(n)]
    oks = [k % FAIL_EVERY != 0 for k in range(n)]
    latencies = [None if not ok else 20.0 + (k * 7919) % 400 for k, ok in enumerate(oks)]
    codes = [200 if ok else None for ok in oks]
    errors = ["" if ok else "timed out after 2.0 s" for ok in oks]
    table = CheckResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (service_id, at, ok, degraded, latency_ms, status_code, error) "  # noqa: S608
            "SELECT s, a, o, false, l, c, e FROM unnest(%s::bigint[], %s::timestamptz[], %s::bool[], "
            "%s::float8[], %s::int[], %s::text[]) AS v(s, a, o, l, c, e)",
            [service_ids, ats, oks, latencies, codes, errors],
        )


def rollup_task(now: dt.datetime) -> None:
    """What monitoring.rollup_history runs."""
    from monitoring.services.rollups import rollup
    from opsportal.jobs import record_job

    with record_job("rollup history") as job:
        job.stats = rollup(now)


def evaluate_task(now: dt.datetime) -> dict:
    """What monitoring.evaluate_metrics runs (monitoring/metrics/tasks.py), at ``now``."""
    from monitoring.alerts import alerting
    from monitoring.metrics import evaluation
    from opsportal.jobs import record_job

    with record_job("evaluate metrics") as job:
        report = evaluation.evaluate(now=now)
        job.stats = {
            "series": report.series,
            "samples": report.samples,
            "raised": report.raised,
            "resolved": report.resolved,
            "states": report.states,
            "certificates_alerting": alerting.check_certificates(now),
            "flapping_ended": alerting.end_flapping(now),
        }
        job.summary = f"{job.stats['series']} series, {job.stats['raised']} raised, {job.stats['resolved']} resolved"
    return job.stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument(
        "--history", type=int, default=0, help="minutes of results before the first tick (rolled up, not measured)"
    )
    parser.add_argument("--profile", choices=["eval", "rollup"], help="cProfile the last tick of this task")
    args = parser.parse_args()
    load = os.getloadavg()
    began = time.monotonic()
    setup(args.services)
    from _alerts_common import backend_cpu_seconds
    from django.db import connection

    from monitoring.metrics.models import MetricSeries
    from monitoring.services.models import Service

    service_ids = list(Service.objects.order_by("pk").values_list("pk", flat=True))
    print(f"{len(service_ids)} services registered in {time.monotonic() - began:.0f} s")
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=args.minutes + 1)
    if args.history:
        # Steady state: every series has a value (PROBE_METRIC_MIN_CHECKS checks in its window).
        for minute in range(args.history):
            insert_minute(service_ids, start - dt.timedelta(minutes=args.history - minute - 1, seconds=-1))
        rollup_task(start)
        print(f"{args.history} minutes of history inserted and rolled up")
    figures: dict[str, list[tuple[float, float]]] = {"rollup": [], "evaluation": [], "load series": []}

    def measured(name: str, fn, *a, profile: bool = False):
        connection.ensure_connection()
        p0, b0 = time.process_time(), backend_cpu_seconds()
        profiler = cProfile.Profile(time.process_time) if profile else None
        if profiler:
            profiler.enable()
        out = fn(*a)
        if profiler:
            profiler.disable()
        p1, b1 = time.process_time(), backend_cpu_seconds()
        figures[name].append((p1 - p0, b1 - b0))
        if profiler:
            print(f"--- profile of {name} ---")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return out

    for minute in range(args.minutes):
        now = start + dt.timedelta(minutes=minute + 1, seconds=1)
        insert_minute(service_ids, now)
        last = minute == args.minutes - 1
        measured("rollup", rollup_task, now, profile=last and args.profile == "rollup")
        stats = measured("evaluation", evaluate_task, now, profile=last and args.profile == "eval")
        measured("load series", lambda: list(MetricSeries.objects.select_related("service")))
        r, e, s = figures["rollup"][-1], figures["evaluation"][-1], figures["load series"][-1]
        print(
            f"minute {minute}: rollup py {r[0]:.3f} s pg {r[1]:.3f} s | evaluation py {e[0]:.3f} s pg {e[1]:.3f} s "
            f"({stats['series']} series, {stats['samples']} samples, {stats['raised']} raised, "
            f"states {dict(sorted(stats['states'].items()))}) | load series py {s[0]:.3f} s pg {s[1]:.3f} s"
        )
    print()
    print(
        f"services {args.services}, history {args.history} min, minutes {args.minutes}; load average at start {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"CPU seconds per tick, median of minutes 1..{args.minutes - 1}:")
    print(f"{'':<22}{'Python':>9}{'PostgreSQL':>12}{'total':>9}")
    for name, values in figures.items():
        rest = values[1:] or values
        py = statistics.median(v[0] for v in rest)
        pg = statistics.median(v[1] for v in rest)
        tot = statistics.median(v[0] + v[1] for v in rest)
        print(f"{name:<22}{py:>9.3f}{pg:>12.3f}{tot:>9.3f}")


if __name__ == "__main__":
    main()
