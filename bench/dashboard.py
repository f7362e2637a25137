"""Benchmark the dashboard on PostgreSQL: 1,000 services with 30 days of one-minute history.

    .venv/bin/python bench/dashboard.py [--services 1000] [--days 30] [--raw-days 7] [--keep | --reuse]
    .venv/bin/python bench/dashboard.py --services 10000 --raw-days 1 --board-only --keep

Builds a throwaway database (default ``bench_opsportal_dashboard`` on 127.0.0.1:5432), fills it
the way a month of one-minute probing would: raw results for the last ``--raw-days`` days,
minute rollups for the same span (their retention), hour and day rollups for ``--days`` days
(rollup histograms are real monitoring.services.histogram.Histogram objects built from sampled
latencies), then times the dashboard, its htmx partial, a service page and the services API
through Django's test client (middleware, session, permissions, view and template: the whole
server side), and counts their queries at different numbers of shown services.

The board section (issue 15) times the page grouped by state, kind and tag, filtered and paged
(with the cache warm, as every view after the first in an hour; and once with an empty cache),
and its live refresh (nothing changed: a 304; one flip; five seconds of check results), each
against a baseline measured in the same run: the same page filtered to 10 services. The
targets: under 300 ms of server time and under 500 KB per page. ``--board-only`` skips the
service page, the API and the rollup tick.
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


CPU_MS: list[float] = []  # CPU per request of the last timed() call: this process + its PostgreSQL backend


def backend_cpu() -> float:
    """CPU seconds so far of this connection's PostgreSQL backend (from /proc: same machine)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    client: Any,
    url: str,
    runs: int,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    before: Any = None,
) -> tuple[list[float], int, int]:
    """Wall times of ``runs`` requests (after 3 to warm up), their query count and answer size.

    Also leaves the mean CPU per request in CPU_MS: on a shared machine the wall time mostly
    measures the wait for a core, the CPU time what the request itself costs.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    for _ in range(3):  # warm caches, template loader, connection
        client.get(url, headers=headers)
    times = []
    cpu = 0.0
    for _ in range(runs):
        if before:
            before()
        pg0, py0 = backend_cpu(), time.process_time()
        t0 = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        cpu += time.process_time() - py0 + backend_cpu() - pg0
        assert response.status_code == status, (url, response.status_code)
    CPU_MS[:] = [cpu * 1000 / runs]
    if before:
        before()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    return times, len(ctx.captured_queries), len(response.content)


def report(label: str, times: list[float], queries: int, size: int) -> None:
    q = statistics.quantiles(times, n=20)
    print(
        f"{label:<42} median {statistics.median(times):6.1f} ms  p95 {q[18]:6.1f} ms  min {min(times):6.1f} ms"
        f"  cpu {CPU_MS[0]:6.1f} ms  {queries:>3} queries  {size / 1024:6.0f} KiB"
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
    measure_board(client, n, args.runs)
    if args.board_only:
        return
    page, page_q, page_size = timed(client, "/services/svc-0001/", args.runs)
    report("service page (24 h, 7 d, 30 d, 90 d)", page, page_q, page_size)
    api, api_q, api_size = timed(client, "/api/v1/services", args.runs)
    report("GET /api/v1/services (first page)", api, api_q, api_size)

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


KB = 1000  # the target is 500 KB: kilobytes, not KiB
HX_POLL = {"HX-Request": "true", "HX-Trigger": "svc-poll"}


def live_query(body: bytes) -> str:
    """The query string the page's poller sends next: the live form's values (filters, view, cursor)."""
    import html
    import re
    from urllib.parse import urlencode

    form = re.search(rb'<form id="svc-live"[^>]*>(.*?)</form>', body, re.S)
    assert form, "no live form in the answer"
    pairs = re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1))
    return urlencode([(k.decode(), html.unescape(v.decode())) for k, v in pairs])


def verdict(times: list[float], size: int) -> str:
    median = statistics.median(times)
    return f"{'OK' if median < 300 and size < 500 * KB else 'MISSED'} (< 300 ms, < 500 KB)"


def freshen() -> None:
    """Bring a kept database up to now, as a running portal would be: hourly rollups for every
    hour since the last one (the current hour included), every service checked just now."""
    from django.db import connection
    from django.utils import timezone

    from monitoring.models import Service
    from monitoring.services.rollups import floor_time

    hour = floor_time(timezone.now(), "hour")
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO monitoring_checkrollup
              (service_id, resolution, start, count, failures, degraded, latency_count, latency_sum,
               histogram, p50_ms, p95_ms, p99_ms)
            SELECT s.id, 'hour', g.t, 60, CASE WHEN random() < 0.01 THEN 1 ELSE 0 END, 0, 60, 3000,
                   '{}'::jsonb, 50, 40 + random() * 300, 400
            FROM monitoring_service s
            CROSS JOIN generate_series(
                (SELECT max(start) FROM monitoring_checkrollup WHERE resolution = 'hour') + interval '1 hour',
                %s::timestamptz, interval '1 hour') AS g(t)
            ON CONFLICT DO NOTHING
            """,
            [hour],
        )
        added = cur.rowcount
    Service.objects.update(last_checked_at=timezone.now())
    connection.set_autocommit(True)
    with connection.cursor() as cur:  # what autovacuum does soon after: visibility map, statistics
        cur.execute("VACUUM ANALYZE monitoring_service")
        cur.execute("VACUUM ANALYZE monitoring_checkrollup")
    print(f"freshened: {added:,} hourly rollups up to {hour:%H:%M} UTC, every service checked now")


def measure_board(client: Any, n: int, runs: int) -> None:
    """The board at ``n`` services against the same page filtered to 10 services, plus its refresh."""
    import random

    from django.utils import timezone

    from monitoring.models import Service, ServiceFlip

    freshen()
    base, base_q, base_size = timed(client, "/?q=Service+000", runs)
    base_median, base_cpu = statistics.median(base), CPU_MS[0]
    report("baseline: dashboard, 10 services", base, base_q, base_size)

    def line(label: str, url: str, **kw: Any) -> tuple[list[float], int, int]:
        times, queries, size = timed(client, url, runs, **kw)
        report(label, times, queries, size)
        ratio, cpu_ratio = statistics.median(times) / base_median, CPU_MS[0] / base_cpu
        print(
            f"{'':<42} {ratio:5.1f}x the baseline's time, {cpu_ratio:5.1f}x its CPU, {size / KB:6.1f} KB"
            f" -> {verdict(times, size)}"
        )
        return times, queries, size

    queries = {"10 services": base_q}
    for label, query in (
        (f"dashboard, {n:,} services by state", "/"),
        (f"dashboard, {n:,} services by kind", "/?group=kind"),
        (f"dashboard, {n:,} services by tag", "/?group=tag"),
        ("dashboard, kind=api", "/?kind=api"),
        ("dashboard, state=down", "/?state=down"),
        ("dashboard, up group opened, page 3", "/?open=up&page=up:3"),
    ):
        queries[label] = line(label, query)[1]
    from django.core.cache import cache

    # The first view after the hour turned (or of rows never rendered): nothing in the cache.
    line(f"dashboard, {n:,} by kind, empty cache", "/?group=kind", before=cache.clear)
    whole = line("board partial, whole (a filter change)", "/dashboard/services/", headers={"HX-Request": "true"})
    constant = len(set(queries.values())) == 1
    print(f"dashboard query count: {queries} -> {'constant' if constant else 'NOT constant'}")

    # The refresh: the poller's request with the cursor of the page as it was first rendered.
    page = client.get("/")
    poll_url = "/dashboard/services/?" + live_query(page.content)
    line("refresh, nothing changed (304)", poll_url, status=304, headers=HX_POLL)
    up = Service.objects.filter(status="up", enabled=True).order_by("name").first()
    assert up is not None
    Service.objects.filter(pk=up.pk).update(
        status="down", status_since=timezone.now(), status_reason="2 failed checks in a row"
    )
    flip = ServiceFlip.objects.create(service=up, old_status="up", new_status="down", reason="bench")
    try:
        line("refresh after one flip", poll_url, headers=HX_POLL)
        body = client.get(poll_url, headers=HX_POLL).content
        print(
            f"{'':<42} rows sent: {body.count(b' data-service=')} (of {page.content.count(b' data-service=')} listed)"
        )
    finally:
        Service.objects.filter(pk=up.pk).update(status="up", status_reason="")
        flip.delete()
    # Five seconds of probing at a 60 s interval: a twelfth of the services got a new result.
    sample = random.Random(5).sample(list(Service.objects.values_list("pk", flat=True)), n // 12)
    Service.objects.filter(pk__in=sample).update(last_checked_at=timezone.now(), last_latency_ms=77.0)
    line(f"refresh after 5 s of checks ({len(sample)} results)", poll_url, headers=HX_POLL)
    body = client.get(poll_url, headers=HX_POLL).content
    print(f"{'':<42} rows sent: {body.count(b' data-service=')}; whole board partial: {whole[2] / KB:.1f} KB")


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
    parser.add_argument("--board-only", action="store_true", help="only the dashboard and its refresh")
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
