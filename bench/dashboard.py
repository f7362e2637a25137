"""Benchmark the dashboard on PostgreSQL: 1,000 services with 30 days of one-minute history.

    .venv/bin/python bench/dashboard.py [--services 1000] [--days 30] [--raw-days 7] [--keep | --reuse]

Builds a throwaway database (default ``bench_opsportal_dashboard`` on 127.0.0.1:5432), fills it
the way a month of one-minute probing would: raw results for the last ``--raw-days`` days,
minute rollups for the same span (their retention), hour and day rollups for ``--days`` days
(rollup histograms are real monitoring.services.histogram.Histogram objects built from sampled
latencies), then times the dashboard, its htmx partial, a service page and the services API
through Django's test client (middleware, session, permissions, view and template: the whole
server side), and counts their queries at different numbers of shown services.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TEMPLATES = 64


def setup_django(db: str, host: str, recreate: bool) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@{host}:5432/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if recreate or not exists:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'CREATE DATABASE "{db}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="opsportal.settings",
        DATABASE_URL=f"postgres://postgres@{host}:5432/{db}",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-not-a-secret"),
        DEBUG="false",
        HTTPS="false",
        STATIC_MANIFEST="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="testserver,localhost",
        DATA_DIR=os.environ.get("DATA_DIR", "/tmp/opsportal-bench"),
    )
    import django

    django.setup()


def templates(samples: int, rng: random.Random) -> list[dict[str, Any]]:
    """Rollup rows' contents for ``samples`` latencies each, built with the real histogram code."""
    from monitoring.services.histogram import Histogram

    out = []
    for _ in range(TEMPLATES):
        base = rng.uniform(40, 400)
        values = [rng.lognormvariate(0, 0.4) * base for _ in range(samples)]
        hist = Histogram.of(values)
        out.append(
            {
                "histogram": hist.to_json(),
                "sum": sum(values),
                "max": max(values),
                "p50": hist.quantile(0.5),
                "p95": hist.quantile(0.95),
                "p99": hist.quantile(0.99),
            }
        )
    return out


def fill(args: argparse.Namespace) -> None:
    import json

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from monitoring.models import Service, Tag
    from monitoring.services.rollups import floor_time
    from opsportal.roles import VIEWER, set_role

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench-viewer", password="bench-password-123")
    set_role(user, VIEWER)
    rng = random.Random(42)
    tags = [
        Tag.objects.create(name=n) for n in ("backend", "frontend", "agents", "models", "eu", "us", "tier-1", "tier-2")
    ]
    kinds = ["api", "frontend", "agent", "model_provider", "database", "cache", "worker", "other"]
    now = timezone.now()
    services = Service.objects.bulk_create(
        [
            Service(
                name=f"Service {i:04d}",
                slug=f"svc-{i:04d}",
                kind=kinds[i % len(kinds)],
                url=f"https://svc-{i:04d}.example.com/api/health",
                status=rng.choices(["up", "degraded", "down"], [0.93, 0.05, 0.02])[0],
                status_since=now,
                last_checked_at=now,
                last_ok=True,
                last_latency_ms=rng.uniform(20, 400),
            )
            for i in range(args.services)
        ]
    )
    through = Service.tags.through
    through.objects.bulk_create([through(service_id=s.pk, tag_id=t.pk) for s in services for t in rng.sample(tags, 2)])
    minute_now = floor_time(now, "minute")
    with connection.cursor() as cur:
        for name, samples, unit, span_days in (
            ("minute", 1, "minute", args.raw_days),
            ("hour", 60, "hour", args.days),
            ("day", 1440, "day", args.days),
        ):
            rows = templates(samples, rng)
            cur.execute("DROP TABLE IF EXISTS bench_tpl")
            cur.execute(
                "CREATE TEMP TABLE bench_tpl (idx int, hist jsonb, lsum float, lmax float, p50 float, p95 float, p99 float)"
            )
            cur.executemany(
                "INSERT INTO bench_tpl VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (i, json.dumps(r["histogram"]), r["sum"], r["max"], r["p50"], r["p95"], r["p99"])
                    for i, r in enumerate(rows)
                ],
            )
            end = floor_time(now, name)
            t0 = time.perf_counter()
            cur.execute(
                """
                INSERT INTO monitoring_checkrollup
                  (service_id, resolution, start, count, failures, degraded, latency_count, latency_sum,
                   latency_max, histogram, p50_ms, p95_ms, p99_ms)
                SELECT s.id, %(name)s, g.t, %(samples)s,
                       CASE WHEN random() < 0.01 THEN 1 ELSE 0 END, 0, %(samples)s, tpl.lsum, tpl.lmax, tpl.hist,
                       tpl.p50, tpl.p95, tpl.p99
                FROM monitoring_service s
                CROSS JOIN generate_series(%(end)s::timestamptz - %(span)s::interval, %(end)s::timestamptz,
                                           %(step)s::interval) AS g(t)
                JOIN bench_tpl tpl ON tpl.idx = ((s.id * 7919 + (extract(epoch FROM g.t) / 60)::bigint) %% %(k)s)
                """,
                {
                    "name": name,
                    "samples": samples,
                    "end": end,
                    "span": f"{span_days} days",
                    "step": f"1 {unit}",
                    "k": TEMPLATES,
                },
            )
            print(f"  {cur.rowcount:>10,} {name} rollups in {time.perf_counter() - t0:5.1f} s")
        t0 = time.perf_counter()
        cur.execute(
            """
            INSERT INTO monitoring_checkresult (service_id, at, ok, degraded, latency_ms, status_code, error)
            SELECT s.id, g.t + (s.id %% 60) * interval '1 second', random() > 0.002, false,
                   20 + random() * 300, 200, ''
            FROM monitoring_service s
            CROSS JOIN generate_series(%s::timestamptz - %s::interval, %s::timestamptz - interval '1 minute',
                                       interval '1 minute') AS g(t)
            """,
            [minute_now, f"{args.raw_days} days", minute_now],
        )
        print(f"  {cur.rowcount:>10,} raw results in {time.perf_counter() - t0:5.1f} s")
        cur.execute("DROP TABLE IF EXISTS bench_tpl")
    with connection.cursor() as cur:
        connection.set_autocommit(True)
        cur.execute("VACUUM ANALYZE monitoring_checkresult")
        cur.execute("VACUUM ANALYZE monitoring_checkrollup")
        cur.execute("VACUUM ANALYZE monitoring_service")
    print(f"data ready in {time.perf_counter() - started:.0f} s")


def timed(client: Any, url: str, runs: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm caches, template loader, connection
        client.get(url)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return times, len(ctx.captured_queries), len(response.content)


def report(label: str, times: list[float], queries: int, size: int) -> None:
    q = statistics.quantiles(times, n=20)
    print(
        f"{label:<42} median {statistics.median(times):6.1f} ms  p95 {q[18]:6.1f} ms  min {min(times):6.1f} ms"
        f"  {queries:>3} queries  {size / 1024:6.0f} KiB"
    )


def measure(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from monitoring.models import CheckResult, CheckRollup, Service
    from monitoring.services.rollups import rollup

    with connection.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cur.fetchone()[0]
    n = Service.objects.count()
    print(
        f"database: {n} services, {CheckResult.objects.count():,} raw results, "
        f"{CheckRollup.objects.count():,} rollups, {size}"
    )
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-viewer"))
    dash, dash_q, dash_size = timed(client, "/", args.runs)
    report(f"dashboard, all {n} services", dash, dash_q, dash_size)
    partial, part_q, part_size = timed(client, "/dashboard/services/", args.runs)
    report(f"dashboard htmx refresh, {n} services", partial, part_q, part_size)
    counts = {}
    for label, query in (("kind=api", "?kind=api"), ("10 services", "?q=Service+000"), ("state=down", "?state=down")):
        times, queries, size_b = timed(client, "/" + query, max(5, args.runs // 4))
        counts[label] = queries
        report(f"dashboard, {label}", times, queries, size_b)
    page, page_q, page_size = timed(client, "/services/svc-0001/", args.runs)
    report("service page (24 h, 7 d, 30 d, 90 d)", page, page_q, page_size)
    api, api_q, api_size = timed(client, "/api/v1/services", args.runs)
    report("GET /api/v1/services (first page)", api, api_q, api_size)
    constant = len({dash_q, *counts.values()}) == 1
    print(f"dashboard query count: {dash_q} for all services, {counts} -> {'constant' if constant else 'NOT constant'}")
    verdict = "OK" if statistics.median(dash) < 300 else "MISSED"
    print(f"target: dashboard server time under 300 ms -> median {statistics.median(dash):.0f} ms {verdict}")

    # The every-minute rollup job at this size: one new minute of results for every service.
    now = timezone.now()
    CheckResult.objects.bulk_create(
        [
            CheckResult(service_id=s, at=now, ok=True, latency_ms=50.0)
            for s in Service.objects.values_list("pk", flat=True)
        ]
    )
    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        summary = rollup()
        elapsed = time.perf_counter() - t0
    print(
        f"rollup tick (one new minute for {n} services): {elapsed:.2f} s, {len(ctx.captured_queries)} queries, {summary}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--raw-days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", default="bench_opsportal_dashboard")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--reuse", action="store_true", help="reuse the database of an earlier --keep run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    setup_django(args.db, args.host, recreate=not args.reuse)
    if not args.reuse:
        print(f"building {args.services} services, {args.days} days of rollups, {args.raw_days} days raw ...")
        fill(args)
    try:
        measure(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(f"postgresql://postgres@{args.host}:5432/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')


if __name__ == "__main__":
    main()
