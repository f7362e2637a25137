"""Benchmark the probe sweep: N services against a local async server answering in 50 ms, 2% hanging.

    .venv/bin/python bench/probe_sweep.py [--services 1000] [--big 10000] [--skip-baseline]

Prints, for one run on this machine: the wall time of a cold sweep (no history) and of a
steady-state sweep (specs built from the previous results, as the dispatcher does), the
time of a sequential httpx loop over the same targets (the baseline), the speed-up, the peak
RSS of this (sweeping) process, and the wall time at ``--big`` services with its ratio to the
small run. The target server (bench/_targets.py) runs in a separate process so its memory is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from _targets import ANSWER_DELAY, HANG_EVERY, TargetServer, raise_fd_limit, target_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TIMEOUT = 2.0

# The sweeping side --------------------------------------------------------------------------


class FakeService:
    """Stands in for a Service row: ProbeSpec.from_service builds the spec exactly as the dispatcher does."""

    check_type = "http"
    method = "GET"
    headers: dict[str, str] = {}
    secret_headers: dict[str, str] = {}
    accepted_statuses = "200-299"
    expect_json_path = "status"
    expect_json_value = "healthy"
    expect_text = ""
    degraded_latency_ms = 2000
    timeout_seconds = TIMEOUT
    body_limit_bytes = 1_048_576
    max_redirects = 5
    verify_tls = True
    host = ""
    port = None
    dsn_env = ""

    def __init__(self, pk: int, url: str) -> None:
        self.pk = pk
        self.url = url
        self.last_ok: bool | None = None
        self.last_error = ""
        self.last_latency_ms: float | None = None


def make_services(n: int, port: int) -> list[FakeService]:
    return [FakeService(i, f"http://127.0.0.1:{port}{target_path('t', i)}") for i in range(n)]


def timed_sweep(services: list[FakeService], deadline: float | None = None) -> tuple[float, dict[str, int]]:
    from monitoring.services.probes import ProbeSpec, sweep

    specs = [ProbeSpec.from_service(s) for s in services]
    started = time.perf_counter()
    outcomes = sweep(specs, deadline=deadline)
    elapsed = time.perf_counter() - started
    tally = {"ok": 0, "timed_out": 0, "other": 0, "skipped": 0}
    for service, outcome in zip(services, outcomes, strict=True):
        service.last_ok, service.last_error, service.last_latency_ms = outcome.ok, outcome.error, outcome.latency_ms
        if outcome.skipped:
            tally["skipped"] += 1
        elif outcome.ok:
            tally["ok"] += 1
        elif "timed out" in outcome.error:
            tally["timed_out"] += 1
        else:
            tally["other"] += 1
    return elapsed, tally


def sequential_baseline(services: list[FakeService]) -> float:
    """What a simple loop does: one httpx request after another, same timeout, same JSON check."""
    import httpx

    started = time.perf_counter()
    with httpx.Client(timeout=TIMEOUT) as client:
        for service in services:
            try:
                response = client.get(service.url)
                response.json()["status"] == "healthy"  # noqa: B015 - the same work as the probe's check
            except httpx.HTTPError:
                pass
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsportal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DATA_DIR", "/tmp/opsportal-bench")
    import django

    django.setup()  # the sweeping process in production is a Celery worker with Django loaded
    from monitoring.services.probes import default_concurrency

    fds = raise_fd_limit()
    server = TargetServer.start()
    port = server.port
    try:
        print(f"probe sweep benchmark: {args.services} services, {100 // HANG_EVERY}% hanging, timeout {TIMEOUT:g} s,")
        print(f"  answer delay {ANSWER_DELAY * 1000:.0f} ms, concurrency {default_concurrency()}, fd limit {fds}")
        small = make_services(args.services, port)
        cold, tally = timed_sweep(small)
        print(f"sweep {args.services} cold:          {cold:6.2f} s  {tally}")
        steady, tally = timed_sweep(small)
        print(f"sweep {args.services} steady state:  {steady:6.2f} s  {tally}")
        rss_small = peak_rss_mb()
        print(f"peak RSS of the sweeping process: {rss_small:.0f} MB")
        budget = TIMEOUT + 1.0
        print(
            f"target: one sweep within timeout + 1 s = {budget:g} s -> cold {'OK' if cold <= budget else 'MISSED'}, "
            f"steady {'OK' if steady <= budget else 'MISSED'}"
        )
        if not args.skip_baseline:
            baseline = sequential_baseline(small)
            print(f"sequential httpx loop, same targets: {baseline:6.1f} s")
            print(f"speed-up: cold {baseline / cold:.1f}x, steady {baseline / steady:.1f}x (target >= 30x)")
        if args.big:
            big = make_services(args.big, port)
            big_cold, tally = timed_sweep(big, deadline=600)
            print(f"sweep {args.big} cold:         {big_cold:6.2f} s  {tally}")
            big_steady, tally = timed_sweep(big, deadline=600)
            print(f"sweep {args.big} steady state: {big_steady:6.2f} s  {tally}")
            factor = args.big / args.services
            print(
                f"growth for {factor:.0f}x the services: cold {big_cold / cold:.1f}x, steady {big_steady / steady:.1f}x "
                f"(linear would be {factor:.0f}x); peak RSS now {peak_rss_mb():.0f} MB"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10000, help="second run for the growth figure (0 to skip)")
    parser.add_argument("--skip-baseline", action="store_true", help="skip the slow sequential loop")
    main(parser.parse_args())
