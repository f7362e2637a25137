"""Benchmark: the minute's evaluation with the SLO burn-rate rules for 1,000 services stays under 5% of one core.

Creates N services (default 1,000) with D days (default 30) of hour rollups, 7 hours of minute
rollups and 2 minutes of raw results, as the probes and rollups would have left them: most
services healthy, ~3% burning fast (a fresh outage), ~5% burning slowly (0.3% of checks
failing). Then runs ``evaluate()`` as beat does every minute, with everything it computes from
the rollups: Uptime over 30 days with its coverage rule, Error Rate over 15 minutes plus the last
minute, p95 latency, and the burn-rate rules (14.4x 1h/5m and 6x 6h/30m pages, 1x 3d/6h ticket).
CPU is this process plus its PostgreSQL backend. Baseline in the same run: loading the rollup
rows of the 30-day window that any evaluation over them has to read.
Run: .venv/bin/python bench/evaluate_slo.py [--services 1000] [--days 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from _alerts_common import backend_cpu_seconds, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the history of the previous run (its 'now')")
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from monitoring.models import CheckResult, CheckRollup, Service

    rng = random.Random(9)
    now = timezone.now().replace(second=30, microsecond=0)
    if args.reuse and Service.objects.count() == args.services:
        newest = CheckRollup.objects.filter(resolution="minute").aggregate(m=Max("start"))["m"]
        now = newest.replace(second=30)
        run(args, now, Service.objects.all(), {0}, {0})
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE monitoring_checkresult, monitoring_checkrollup, monitoring_serviceflip, monitoring_service "
            "RESTART IDENTITY CASCADE"
        )
    services = Service.objects.bulk_create(
        [
            Service(
                name=f"svc {i}",
                slug=f"svc-{i}",
                url=f"http://127.0.0.1:9/{i}",
                interval_seconds=15,
                created_at=now - dt.timedelta(days=args.days),
            )
            for i in range(args.services)
        ]
    )
    fast = {s.pk for s in services if rng.random() < 0.03}
    slow = {s.pk for s in services if s.pk not in fast and rng.random() < 0.05}
    t0 = time.perf_counter()
    hour_top = now.replace(minute=0, second=0) - dt.timedelta(hours=7)
    rows: list[CheckRollup] = []
    for s in services:
        hour = now.replace(minute=0, second=0) - dt.timedelta(days=args.days)
        while hour < hour_top:
            failures = 1 if s.pk in slow and rng.random() < 0.72 else 0  # ~0.3% of 240 checks
            rows.append(CheckRollup(service=s, resolution="hour", start=hour, count=240, failures=failures))
            hour += dt.timedelta(hours=1)
        minute = hour_top
        while minute < now:
            recent = now - minute < dt.timedelta(minutes=4)
            failures = 4 if s.pk in fast and recent else (1 if s.pk in slow and rng.random() < 0.012 else 0)
            rows.append(CheckRollup(service=s, resolution="minute", start=minute, count=4, failures=failures))
            minute += dt.timedelta(minutes=1)
        if len(rows) > 50_000:
            CheckRollup.objects.bulk_create(rows, batch_size=10_000)
            rows = []
    CheckRollup.objects.bulk_create(rows, batch_size=10_000)
    with connection.cursor() as cursor:  # the day rows rollup() keeps from the hour rows
        cursor.execute(
            "INSERT INTO monitoring_checkrollup (service_id, resolution, start, count, failures, degraded, "
            "latency_count, latency_sum, histogram) "
            "SELECT service_id, 'day', date_trunc('day', start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(count), "
            "sum(failures), 0, 0, 0, '{}' FROM monitoring_checkrollup WHERE resolution = 'hour' "
            "AND start < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' GROUP BY 1, 3"
        )
    CheckResult.objects.bulk_create(
        [
            CheckResult(service=s, at=now - dt.timedelta(seconds=15 * k), ok=s.pk not in fast, latency_ms=40.0)
            for s in services
            for k in range(8)
        ],
        batch_size=10_000,
    )
    print(f"history written in {time.perf_counter() - t0:.0f} s: {CheckRollup.objects.count()} rollup rows")
    run(args, now, services, fast, slow)


def run(args: argparse.Namespace, now: dt.datetime, services: object, fast: set[int], slow: set[int]) -> None:
    from monitoring.metrics.evaluation import evaluate
    from monitoring.models import Alert, BurnRateRule, CheckRollup

    print(f"burn-rate rules: {[r.label for r in BurnRateRule.objects.all()]}")

    def cpu() -> float:
        return time.process_time() + backend_cpu_seconds()

    since = now - dt.timedelta(days=30)
    base_cpu = []
    for _ in range(3):
        c = cpu()
        n = len(list(CheckRollup.objects.filter(start__gte=since).values_list("service_id", "count", "failures")))
        base_cpu.append(cpu() - c)
    baseline = statistics.median(base_cpu)

    eval_cpu, eval_wall = [], []
    for minute in range(args.rounds):
        at = now + dt.timedelta(seconds=minute)  # the same minute again: steady state, alerts refreshed
        c, w = cpu(), time.perf_counter()
        report = evaluate(now=at)
        eval_cpu.append(cpu() - c)
        eval_wall.append(time.perf_counter() - w)
        print(
            f"round {minute}: {report.series} series, {report.samples} samples, raised {report.raised}, "
            f"resolved {report.resolved}, burn-rate alerts firing {report.burn_firing}, "
            f"cpu {eval_cpu[-1] * 1000:.0f} ms, wall {eval_wall[-1] * 1000:.0f} ms"
        )
    keys = Alert.objects.exclude(state="resolved").values_list("dedup_key", flat=True)
    pages = sum(1 for k in keys if k.endswith(":page"))
    tickets = sum(1 for k in keys if k.endswith(":ticket"))
    mean_cpu, worst_cpu = statistics.mean(eval_cpu), max(eval_cpu)
    print()
    print(
        f"services: {args.services} ({len(fast)} burning fast, {len(slow)} slowly); pages open {pages}, tickets {tickets}"
    )
    print(f"baseline, load {n} rollup rows of 30 days: cpu {baseline * 1000:.0f} ms")
    print(
        f"evaluation, mean of {args.rounds}: cpu {mean_cpu * 1000:.0f} ms (app + PostgreSQL), wall {statistics.mean(eval_wall) * 1000:.0f} ms"
    )
    print(f"evaluation, worst: cpu {worst_cpu * 1000:.0f} ms; ratio mean / baseline {mean_cpu / baseline:.2f}x")
    print(
        f"share of one core at 1 run/minute: mean {100 * mean_cpu / 60:.2f}%, worst {100 * worst_cpu / 60:.2f}% (target < 5%)"
    )


if __name__ == "__main__":
    main()
