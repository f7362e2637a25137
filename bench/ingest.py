"""Benchmark: the ingest endpoint must accept at least 5,000 samples a second in batches of 500.

Starts gunicorn (2 workers, this 2-core machine) on a free loopback port against the bench
database, then posts batches of 500 samples over keep-alive connections from several client
threads for a fixed number of batches. Baseline in the same run: the same client calling a
trivial authenticated endpoint (GET /api/v1/me), i.e. the cost of a request with no work.
Run: .venv/bin/python bench/ingest.py [--batches 60] [--clients 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _alerts_common import ROOT, bench_env, setup_django


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--series", type=int, default=50, help="distinct series per batch")
    args = parser.parse_args()
    setup_django()

    import httpx
    from django.contrib.auth import get_user_model

    from monitoring.models import MetricSample, Service
    from opsportal.models import ApiToken
    from opsportal.roles import EDITOR, set_role

    user, _ = get_user_model().objects.get_or_create(username="bench-ingest")
    set_role(user, EDITOR)
    _token, plain = ApiToken.issue(user, "bench", EDITOR)
    for n in range(5):
        Service.objects.get_or_create(slug=f"bench-{n}", defaults={"name": f"Bench {n}", "url": "http://127.0.0.1:9/"})

    port = free_port()
    env = {**os.environ, **bench_env(), "API_MAX_BATCH": str(max(1000, args.batch_size))}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "opsportal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {plain}"}
    try:
        wait_up(f"{base}/api/health")
        metrics = ["memory_usage", "disk_space", "error_rate", "database_connections"]

        def batch(k: int) -> list[dict[str, object]]:
            now = dt.datetime.now(dt.UTC)
            out = []
            for i in range(args.batch_size):
                s = i % args.series
                item: dict[str, object] = {
                    "metric": metrics[s % len(metrics)],
                    "value": float((k * 7 + i) % 97),
                    "at": (now - dt.timedelta(seconds=args.batch_size - i)).isoformat(),
                }
                if s % 3 == 0:
                    item["service"] = f"bench-{s % 5}"
                out.append(item)
            return out

        bodies = [batch(k) for k in range(args.batches)]
        clients = [httpx.Client(headers=headers, timeout=30) for _ in range(args.clients)]
        for c in clients:  # warm up: connections, worker imports, first queries
            c.get(f"{base}/api/v1/me").raise_for_status()
            c.post(f"{base}/api/v1/ingest/metrics", json={"samples": batch(0)[:10]}).raise_for_status()

        def timed(job: tuple[int, str]) -> float:
            k, kind = job
            c = clients[k % len(clients)]
            t = time.perf_counter()
            r = (
                c.get(f"{base}/api/v1/me")
                if kind == "me"
                else c.post(f"{base}/api/v1/ingest/metrics", json={"samples": bodies[k]})
            )
            r.raise_for_status()
            return time.perf_counter() - t

        with ThreadPoolExecutor(args.clients) as pool:
            t0 = time.perf_counter()
            me = list(pool.map(timed, [(k, "me") for k in range(args.batches)]))
            me_wall = time.perf_counter() - t0
            before = MetricSample.objects.count()
            t0 = time.perf_counter()
            lat = list(pool.map(timed, [(k, "ingest") for k in range(args.batches)]))
            wall = time.perf_counter() - t0
        stored = MetricSample.objects.count() - before
        for c in clients:
            c.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    samples = args.batches * args.batch_size
    rate = samples / wall
    print(f"batches: {args.batches} x {args.batch_size} samples, {args.clients} client threads, gunicorn 2 workers")
    print(f"stored:                              {stored} samples (expected {samples})")
    print(
        f"baseline GET /api/v1/me:             median {statistics.median(me) * 1000:.1f} ms, {args.batches / me_wall:.0f} requests/s"
    )
    print(
        f"ingest batch of {args.batch_size}:                median {statistics.median(lat) * 1000:.1f} ms, p95 {sorted(lat)[int(0.95 * len(lat)) - 1] * 1000:.1f} ms"
    )
    print(f"ratio batch / trivial request:       {statistics.median(lat) / statistics.median(me):.1f}x")
    print(f"throughput:                          {rate:.0f} samples/s (target >= 5000), {rate / 5000:.2f}x the target")
    if stored != samples:
        raise SystemExit("not every sample was stored")


if __name__ == "__main__":
    main()
