"""Benchmark: heartbeat pings per second through gunicorn, against a static 200 from the same
gunicorn in the same run (the ceiling). Targets: at least 1,000 pings/s and 0.5x the ceiling.

Starts gunicorn on a free loopback port against the bench database, registers --checks heartbeat
services, then drives three paths with wrk (50 connections, Debian's `wrk`, installed when
missing), each for --seconds in all, in --rounds short rounds that take the three paths in turn
(a noisy neighbour on a shared VM then slows all three alike: the ceiling alone moved between
2,500 and 9,500 req/s within minutes here); the ratio is given per round, as its median and
range, and for the totals. The ceiling is `/robots.txt`, a constant answer of the WSGI
application (the same fast-path layer the pings take, so it is gunicorn's own floor); a second
reference is a small static file served by whitenoise through Django's middleware; the pings hit
/ping/<uuid> of random checks. Afterwards it counts the stored pings against wrk's own count of
answers (every 200 must be a row; requests still in flight when wrk stops are stored but not
counted by wrk, at most one per connection) and reports CPU seconds of gunicorn, of the
PostgreSQL backends and of wrk (from /proc) per 1,000 requests of each path: on a busy machine
the CPU figures hold when requests per second do not.
Last, the same process stores pings of those checks with ``ping_store.store_batch`` alone, in
batches of --batch, with no HTTP and no threads: the writer's own CPU per ping (Python and
PostgreSQL), so what the HTTP path adds on top (gunicorn, the hand-off to the writer thread) shows.
--profile DIR samples each worker with py-spy (GIL holder, raw stacks) during the pings.
Run: .venv/bin/python bench/ping.py [--seconds 10] [--rounds 5] [--connections 50] [--workers 2] [--threads 16] [--checks 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def spy(pid: int, seconds: int, into: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the GIL holder of ``pid`` (raw stacks, for flame graphs or grep)."""
    py_spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
    into.mkdir(parents=True, exist_ok=True)
    command = [py_spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "--gil", "--nonblocking",
               "-f", "raw", "-o", str(into / f"worker-{pid}.txt")]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def writer_alone(keys: list, batch: int, batches: int = 400) -> tuple[float, float, float]:
    """Pings per second, Python and PostgreSQL CPU ms per ping of ``store_batch`` in this process."""
    import random

    from django.db import connection
    from django.utils import timezone

    from monitoring.services.choices import PingKind
    from monitoring.services.heartbeats import Ping
    from monitoring.services.ping_store import Pinged, Stored, store_batch

    def make() -> list[Pinged]:
        ping = Ping(PingKind.SUCCESS, None, "GET", remote_addr="127.0.0.1", user_agent="bench")
        return [Pinged(k, ping, timezone.now()) for k in random.sample(keys, batch)]

    os.environ["PING_RATE_LIMIT"] = "1000000"
    for _ in range(20):  # warm-up: the connection, the prepared statements
        store_batch(make())
    work = [make() for _ in range(batches)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = [cursor.fetchone()[0]]
    started, python, db = time.perf_counter(), time.process_time(), cpu_seconds(backend)
    for items in work:
        assert all(r is Stored.STORED for r in store_batch(items))
    elapsed, python, db = time.perf_counter() - started, time.process_time() - python, cpu_seconds(backend) - db
    n = batch * batches
    return n / elapsed, 1000 * python / n, 1000 * db / n


def postgres_backends(database: str) -> list[int]:
    import psycopg
    from _alerts_common import DEFAULT_URL

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        ).fetchall()
    return [r[0] for r in rows]


@dataclass
class Run:
    """One wrk run over a set of paths, with the CPU the server side and wrk spent on it."""

    rps: float
    total: int
    bad: int
    cpu_web: float
    cpu_db: float
    cpu_wrk: float

    def per_k(self, seconds: float) -> float:
        return seconds * 1000 / max(self.total, 1)

    @staticmethod
    def combined(runs: list[Run]) -> Run:
        """The rounds of one path as one run (requests per second over their summed time)."""
        total = sum(r.total for r in runs)
        seconds = sum(r.total / r.rps for r in runs if r.rps)
        return Run(
            total / seconds if seconds else 0.0, total, sum(r.bad for r in runs),
            sum(r.cpu_web for r in runs), sum(r.cpu_db for r in runs), sum(r.cpu_wrk for r in runs),
        )  # fmt: skip


def run_wrk(
    wrk: str, base: str, paths: list[str], seconds: int, connections: int, web: list[int], database: str
) -> Run:
    """One wrk run over ``paths``: requests per second and count, non-2xx, CPU seconds spent."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-ping-"))
    (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
    (tmp / "script.lua").write_text(LUA % {"paths": tmp / "paths.txt"})
    backends = postgres_backends(database)
    web_before, db_before = cpu_seconds(web), cpu_seconds(backends)
    started = os.times()
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(tmp / "script.lua"), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    ended = os.times()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    cpu_wrk = (ended.children_user - started.children_user) + (ended.children_system - started.children_system)
    return Run(
        rps, total, int(bad.group(1)) if bad else 0,
        cpu_seconds(web) - web_before, cpu_seconds(backends) - db_before, cpu_wrk,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per path, in all rounds together")
    parser.add_argument("--rounds", type=int, default=5, help="rounds taking the three paths in turn")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="gthread threads per worker (gunicorn.conf.py)")
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=25, help="pings per store_batch call in the writer-alone figure")
    parser.add_argument("--profile", metavar="DIR", help="py-spy each worker during the pings (raw stacks in DIR)")
    args = parser.parse_args()
    setup_django()
    wrk = ensure_wrk()

    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.utils import timezone

    from monitoring.services.choices import CheckType, ServiceStatus
    from monitoring.services.models import HeartbeatPing, Service

    # Checks that have been pinging for a while (up): the steady state of a ping. The first ping
    # of a new check is a status change (unknown -> up) and takes the ORM path with its flip row.
    Service.objects.filter(slug__startswith="bench-hb-").delete()
    Service.objects.bulk_create(
        [Service(slug=f"bench-hb-{n}", name=f"Bench heartbeat {n}", check_type=CheckType.HEARTBEAT,
                 status=ServiceStatus.UP, last_checked_at=timezone.now(), last_ping_at=timezone.now())
         for n in range(args.checks)]
    )  # fmt: skip
    keys = list(Service.objects.filter(slug__startswith="bench-hb-").values_list("ping_key", flat=True))
    # Earlier runs' deleted checks leave dead rows behind; autovacuum would clear them in time,
    # the bench clears them now so every run starts from the same tables.
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (Service._meta.db_table, HeartbeatPing._meta.db_table):
            cursor.execute(f"VACUUM ANALYZE {table}")
    static_name = "css/report-print.css"
    assert finders.find(static_name), static_name
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # whitenoise serves STATIC_ROOT

    port = free_port()
    # The rate limit (counted on the check's row, in the ping's write) stays in the path; its bound is lifted so that
    # random keys at this rate are never refused.
    env = {**os.environ, **bench_env(), "PING_RATE_LIMIT": "1000000", "STATIC_MANIFEST": "false"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "opsportal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads), "--log-level", "warning", "--backlog", "2048"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    database = settings.DATABASES["default"]["NAME"]
    ping_paths = [f"/ping/{k}" for k in keys]
    static_path = f"{settings.STATIC_URL}{static_name}"
    stored = HeartbeatPing.objects.filter(service__slug__startswith="bench-hb-")
    try:
        wait_up(f"{base}/robots.txt", timeout=120)
        procs = children(server.pid)
        go = {"wrk": wrk, "base": base, "connections": args.connections, "web": procs, "database": database}
        for paths in (["/robots.txt"], [static_path], ping_paths[:50]):  # warm-up: workers, connections
            run_wrk(paths=paths, seconds=2, **go)
        slice_seconds = max(1, args.seconds // max(args.rounds, 1))
        rounds: list[tuple[Run, Run, Run]] = []
        rows = 0
        for _ in range(max(args.rounds, 1)):
            ceiling = run_wrk(paths=["/robots.txt"], seconds=slice_seconds, **go)
            static = run_wrk(paths=[static_path], seconds=slice_seconds, **go)
            time.sleep(0.5)  # the last round's pings in flight are stored before the count
            before = stored.count()
            spies = (
                [spy(pid, slice_seconds, Path(args.profile)) for pid in procs] if args.profile and not rounds else []
            )
            pings = run_wrk(paths=ping_paths, seconds=slice_seconds, **go)
            for running in spies:
                running.wait(timeout=60)
            time.sleep(0.5)
            rows += stored.count() - before
            rounds.append((ceiling, static, pings))
    finally:
        server.terminate()
        server.wait(timeout=30)

    load = os.getloadavg()
    ceiling, static, pings = (Run.combined([r[i] for r in rounds]) for i in range(3))
    print(
        f"gunicorn: {args.workers} gthread workers x {args.threads} threads (gunicorn.conf.py), wrk: 2 threads, "
        f"{args.connections} connections, {len(rounds)} rounds of {slice_seconds} s per path; "
        f"load average {load[0]:.2f} {load[1]:.2f}"
    )
    print("round  ceiling req/s  static req/s  pings req/s  pings/ceiling  pings/static")
    per_round = []
    for n, (c, st, p) in enumerate(rounds, 1):
        per_round.append(p.rps / c.rps)
        print(f"{n:5}  {c.rps:13,.0f}  {st.rps:12,.0f}  {p.rps:11,.0f}  {p.rps / c.rps:13.2f}  {p.rps / st.rps:12.2f}")
    print(
        f"pings/ceiling per round: median {statistics.median(per_round):.2f}, "
        f"range {min(per_round):.2f} to {max(per_round):.2f}"
    )
    print("path                                     req/s  non-2xx   CPU s per 1,000: gunicorn  PostgreSQL  wrk")
    for label, run in (
        ("ceiling: /robots.txt (constant, WSGI)", ceiling),
        ("static file via whitenoise + middleware", static),
        (f"pings: /ping/<uuid> of {args.checks} checks", pings),
    ):
        print(
            f"{label:40} {run.rps:6.0f}  {run.bad:7}   {run.per_k(run.cpu_web):24.3f}  {run.per_k(run.cpu_db):10.3f}  "
            f"{run.per_k(run.cpu_wrk):.3f}"
        )
    print(
        f"ratio pings/ceiling: {pings.rps / ceiling.rps:.2f}   (target >= 0.50; pings target >= 1,000/s); "
        f"pings/static file: {pings.rps / static.rps:.2f}"
    )
    cpu_ping = pings.per_k(pings.cpu_web + pings.cpu_db + pings.cpu_wrk)
    cpu_ceiling = ceiling.per_k(ceiling.cpu_web + ceiling.cpu_db + ceiling.cpu_wrk)
    cores = os.cpu_count() or 1
    print(
        f"CPU per request, all processes: ping {cpu_ping:.3f} ms, ceiling {cpu_ceiling:.3f} ms "
        f"(ratio {cpu_ceiling / cpu_ping:.2f}); {cores} cores at that cost: {cores * 1000 / cpu_ping:,.0f} pings/s"
    )
    alone = writer_alone(keys, args.batch)
    print(
        f"store_batch alone, batches of {args.batch}: {alone[0]:,.0f} pings/s in one thread, CPU per ping: Python "
        f"{alone[1]:.3f} ms, PostgreSQL {alone[2]:.3f} ms (the HTTP path's rest: gunicorn and the hand-off)"
    )
    in_flight = rows - (pings.total - pings.bad)
    print(
        f"pings answered 200 by wrk's count: {pings.total - pings.bad}, rows stored: {rows} "
        f"(every 200 a row: {0 <= in_flight <= args.connections * len(rounds)}; {in_flight} in flight when wrk "
        "stopped, at most one per connection and round)"
    )


if __name__ == "__main__":
    main()
