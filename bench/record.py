"""Bookkeeping per probe: the CPU the pipeline spends around the HTTP sweep (claims, results, states, rollups...).

    .venv/bin/python bench/record.py [--services 1000 5000] [--minutes 3]

N HTTP services against bench/_targets.py's loopback server (50 ms answers, 2% hanging past the 2 s
timeout, JSON ``status == healthy`` checked), spread over their 60 s interval, are probed by the
real dispatcher at simulated time, in this process: a beat every 5 s (``claim_due`` +
``probe_claimed``), the alerts tick every 10 s, rollups and metric evaluation every minute, as
tests/monitoring/outage.py does. The first minute is a warm-up; then CPU seconds of this process
plus its PostgreSQL backend (utime + stime from /proc) are split into the HTTP sweep (the
baseline, measured in the same run) and the bookkeeping: dispatch (claims, probe specs, results,
states, flips, releases), rollups, evaluation (metrics, certificates, flapping) and the alerts
tick. The sweeps get a 60 s deadline, so that a loaded machine still finishes every probe (each
one is counted). Uses its own database (BENCH_DATABASE_URL, default .../bench_bulk_record).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_bulk_record")

from _alerts_common import backend_cpu_seconds, setup_django
from _targets import TargetServer, raise_fd_limit

BEAT = 5
TIMEOUT = 2.0
INTERVAL = 60


def cpu() -> float:
    return time.process_time() + backend_cpu_seconds()


def reset(n: int, server: TargetServer, start: dt.datetime) -> None:
    from django.db import connection

    from monitoring.models import Service

    with connection.cursor() as cursor:
        tables = ["monitoring_service", "monitoring_checkresult", "monitoring_checkrollup", "monitoring_serviceflip"]
        cursor.execute("SELECT to_regclass('monitoring_watermark')")
        if cursor.fetchone()[0]:
            tables.append("monitoring_watermark")
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    Service.objects.bulk_create(
        [
            Service(
                name=f"Bench {i}",
                slug=f"bench-{i}",
                url=server.url("bench", i),
                interval_seconds=INTERVAL,
                timeout_seconds=TIMEOUT,
                expect_json_path="status",
                expect_json_value="healthy",
                # Spread over the interval, as item 3 of issue 15 makes every new service.
                next_due_at=start + dt.timedelta(seconds=INTERVAL * i / n),
            )
            for i in range(n)
        ],
        batch_size=2000,
    )


class SweepClock:
    """Wraps the dispatcher's ``sweep`` to add up the CPU spent inside the HTTP sweep."""

    def __init__(self) -> None:
        from monitoring.services import dispatch

        self.dispatch = dispatch
        self.inner = dispatch.sweep
        self.seconds = 0.0
        self.probes = 0
        dispatch.sweep = self  # type: ignore[assignment]

    def __call__(self, specs: list, **kwargs: object) -> list:
        started = time.process_time()
        kwargs["deadline"] = 60.0  # a loaded machine must not skip probes: every one is counted
        try:
            return self.inner(specs, **kwargs)
        finally:
            self.seconds += time.process_time() - started
            self.probes += len(specs)


def run(n: int, minutes: int, server: TargetServer) -> dict[str, float]:
    import time_machine
    from django.db import reset_queries

    from monitoring.alerts import alerting, notify
    from monitoring.metrics import evaluation
    from monitoring.services.dispatch import claim_due, probe_claimed
    from monitoring.services.rollups import rollup

    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    reset(n, server, start)
    clock = SweepClock()
    spent: dict[str, float] = defaultdict(float)
    probes = 0
    try:
        for beat in range(1, (minutes + 1) * INTERVAL // BEAT + 1):
            now = start + dt.timedelta(seconds=beat * BEAT)
            measured = beat > INTERVAL // BEAT  # the first minute warms up
            with time_machine.travel(now, tick=False):
                sweep_before, c = clock.seconds, cpu()
                token, due = claim_due(now=now, limit=n)
                probed = probe_claimed(due, token).probed if due else 0
                dispatch_cpu = cpu() - c
                if measured:
                    spent["sweep"] += clock.seconds - sweep_before
                    spent["dispatch"] += dispatch_cpu - (clock.seconds - sweep_before)
                    probes += probed
                if beat % 2 == 0:
                    c = cpu()
                    alerting.process_flips(now=now)
                    alerting.reopen_conditions()
                    notify.run_once(now)
                    spent["alerts"] += (cpu() - c) if measured else 0.0
                if beat % (INTERVAL // BEAT) == 0:
                    c = cpu()
                    rollup(now=now)
                    spent["rollup"] += (cpu() - c) if measured else 0.0
                    c = cpu()
                    evaluation.evaluate(now)
                    alerting.check_certificates(now)
                    alerting.end_flapping(now)
                    spent["evaluation"] += (cpu() - c) if measured else 0.0
            reset_queries()
    finally:
        clock.dispatch.sweep = clock.inner  # type: ignore[assignment]
    spent["probes"] = probes
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--minutes", type=int, default=3, help="measured minutes after the warm-up minute")
    args = parser.parse_args()
    setup_django()
    raise_fd_limit()
    server = TargetServer.start()
    parts = ["sweep", "dispatch", "rollup", "evaluation", "alerts"]
    try:
        print(f"bookkeeping benchmark: {args.minutes} measured minutes after a warm-up minute, beat {BEAT} s")
        print(f"{'services':>8} {'probes':>7} " + " ".join(f"{p:>10}" for p in parts) + "  bookkeeping   all-in")
        for n in args.services:
            spent = run(n, args.minutes, server)
            probes = spent["probes"] or 1
            per = {p: spent[p] / probes * 1000 for p in parts}
            bookkeeping = sum(per[p] for p in parts if p != "sweep")
            print(
                f"{n:>8} {int(probes):>7} "
                + " ".join(f"{per[p]:>7.3f} ms" for p in parts)
                + f"  {bookkeeping:>8.3f} ms  {bookkeeping + per['sweep']:.3f} ms per probe"
            )
            minute = {p: spent[p] / args.minutes for p in parts}
            print(
                f"{'':>8} CPU s per minute: "
                + ", ".join(f"{p} {minute[p]:.2f}" for p in parts)
                + f"; bookkeeping / sweep {bookkeeping / max(per['sweep'], 1e-9):.2f}x"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
