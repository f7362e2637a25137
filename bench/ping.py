"""Benchmark: heartbeat pings per second through gunicorn, against a static 200 from the same
gunicorn in the same run (the ceiling). Targets: at least 1,000 pings/s and 0.5x the ceiling.

Starts gunicorn on a free loopback port against the bench database, registers --checks heartbeat
services, then drives both paths with wrk (50 connections, Debian's `wrk`, installed when
missing): the ceiling is a small hashed static file served by whitenoise in the same gunicorn;
the pings hit /ping/<uuid> of random checks. Afterwards it counts the stored pings against
wrk's own request count (every 200 must be a row) and reports CPU seconds of gunicorn and of
the PostgreSQL backends (from /proc) per 1,000 pings.
Run: .venv/bin/python bench/ping.py [--seconds 10] [--connections 50] [--workers 4] [--checks 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _alerts_common import ROOT, bench_env, setup_django
from ingest import free_port, wait_up

LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *map(int, out)]


def postgres_backends(database: str) -> list[int]:
    import psycopg
    from _alerts_common import DEFAULT_URL

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        ).fetchall()
    return [r[0] for r in rows]


def run_wrk(wrk: str, base: str, paths: list[str], seconds: int, connections: int) -> tuple[float, int, int]:
    """(requests per second, requests, non-2xx) of one wrk run over ``paths``."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-ping-"))
    (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
    (tmp / "script.lua").write_text(LUA % {"paths": tmp / "paths.txt"})
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(tmp / "script.lua"), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--checks", type=int, default=1000)
    args = parser.parse_args()
    setup_django()
    wrk = ensure_wrk()

    from django.conf import settings
    from django.contrib.staticfiles import finders

    from monitoring.services.choices import CheckType
    from monitoring.services.models import HeartbeatPing, Service

    Service.objects.filter(slug__startswith="bench-hb-").delete()
    Service.objects.bulk_create(
        [Service(slug=f"bench-hb-{n}", name=f"Bench heartbeat {n}", check_type=CheckType.HEARTBEAT)
         for n in range(args.checks)]
    )  # fmt: skip
    keys = list(Service.objects.filter(slug__startswith="bench-hb-").values_list("ping_key", flat=True))
    static_name = "css/report-print.css"
    assert finders.find(static_name), static_name
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # whitenoise serves STATIC_ROOT

    port = free_port()
    # The rate limit (a cache counter per check) stays in the path; its bound is lifted so that
    # random keys at this rate are never refused.
    env = {**os.environ, **bench_env(), "PING_RATE_LIMIT": "1000000", "STATIC_MANIFEST": "false"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "opsportal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning", "--backlog", "2048"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    database = settings.DATABASES["default"]["NAME"]
    try:
        wait_up(f"{base}/api/health")
        static_path = f"{settings.STATIC_URL}{static_name}"
        run_wrk(wrk, base, [static_path], 2, args.connections)  # warm-up: workers and connections
        run_wrk(wrk, base, [f"/ping/{k}" for k in keys[:50]], 2, args.connections)
        before_pings = HeartbeatPing.objects.filter(service__slug__startswith="bench-hb-").count()

        ceiling, _, ceiling_bad = run_wrk(wrk, base, [static_path], args.seconds, args.connections)
        procs = children(server.pid)
        backends = postgres_backends(database)
        cpu_web, cpu_db = cpu_seconds(procs), cpu_seconds(backends)
        started = time.perf_counter()
        rps, total, bad = run_wrk(wrk, base, [f"/ping/{k}" for k in keys], args.seconds, args.connections)
        wall = time.perf_counter() - started
        cpu_web = cpu_seconds(procs) - cpu_web
        cpu_db = cpu_seconds(backends) - cpu_db
        stored = HeartbeatPing.objects.filter(service__slug__startswith="bench-hb-").count() - before_pings
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"gunicorn: {args.workers} sync workers, wrk: 2 threads, {args.connections} connections, {args.seconds} s each"
    )
    print(f"ceiling (static 200 from the same gunicorn): {ceiling:8.0f} req/s  (non-2xx: {ceiling_bad})")
    print(f"pings (/ping/<uuid>, {args.checks} checks):     {rps:8.0f} req/s  (non-2xx: {bad})")
    print(f"ratio pings/ceiling: {rps / ceiling:.2f}   (target >= 0.50; pings target >= 1,000/s)")
    print(f"pings answered by wrk: {total}, ping rows stored: {stored} (every 200 a row: {total - bad == stored})")
    per_k = 1000 / max(total, 1)
    print(
        f"CPU seconds per 1,000 pings: gunicorn {cpu_web * per_k:.3f}, PostgreSQL backends {cpu_db * per_k:.3f} "
        f"(over {wall:.1f} s wall)"
    )


if __name__ == "__main__":
    main()
