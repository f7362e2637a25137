"""Benchmark the whole pipeline sustained: N services at a 60 s interval, Celery worker + beat on
PostgreSQL and Redis, against Prometheus' blackbox exporter probing the same targets in the same run.

    .venv/bin/python bench/sustained.py --services 1000,5000,10000       # ~25 minutes
    .venv/bin/python bench/sustained.py --quick                          # 1,000 services, ~3 minutes
    .venv/bin/python bench/sustained.py --services 10000 --workers 2 --pin --no-baseline   # scale-out

For each N: a fresh database ``bench_sustained`` (created and migrated), Redis DBs 11 (broker)
and 12 (cache) flushed, N HTTP services registered through the services import (2% of the
targets hang past the 2 s timeout), then the Procfile's ``worker`` and ``beat`` commands, and
Debian's prometheus-blackbox-exporter + prometheus (bench/_blackbox.py), all started at once.
After ``--warmup`` minutes, ``--minutes`` are measured: CPU seconds (utime + stime from /proc,
bench/_proccpu.py) of the worker and all its pool processes, beat, the PostgreSQL backends of
``bench_sustained`` (and, not counted, autovacuum on it), blackbox exporter and Prometheus; and
every probe counted per target, from the target server's own request log (bench/_targets.py, a
separate process) and from the CheckResult table, missed and doubled (bench/_probecount.py).
The load average and the busy CPU of the whole machine are printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _blackbox import Baseline, ensure_installed
from _probecount import Tally, tally
from _proccpu import CpuSampler, machine_busy_seconds
from _targets import HANG_EVERY, TargetServer, raise_fd_limit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "bench_sustained"
SERVER = "postgres://postgres@127.0.0.1:5432"
BROKER_URL = "redis://127.0.0.1:6379/11"
CACHE_URL = "redis://127.0.0.1:6379/12"
INTERVAL = 60
SLUG = re.compile(r"^svc-(\d+)$")
SWEEP_LOG = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*probe sweep: \{'claimed': \d+, 'probed': (\d+)")


def bench_env(workdir: Path) -> dict[str, str]:
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    return {
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_URL": CACHE_URL,
        "SECRET_KEY": "bench-only-not-a-secret",
        "DEBUG": "false",
        "HTTPS": "false",
        "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "opsportal.settings",
    }


def fresh_database() -> float:
    """Drop and create bench_sustained, migrate it; return the seconds it took."""
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    connection.close()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    call_command("migrate", verbosity=0, interactive=False)
    return time.monotonic() - started


def flush_redis() -> None:
    import redis

    for url in (BROKER_URL, CACHE_URL):
        redis.Redis.from_url(url).flushdb()


def register(n: int, server: TargetServer) -> float:
    """N HTTP services through the services import (the path a configuration file takes)."""
    from monitoring.services.import_export import import_services

    entries = [
        {
            "slug": f"svc-{i}",
            "name": f"Service {i}",
            "kind": "api",
            "check_type": "http",
            "url": server.url("op", i),
            "interval_seconds": INTERVAL,
            "timeout_seconds": 2.0,
            "expect_json_path": "status",
            "expect_json_value": "healthy",
        }
        for i in range(n)
    ]
    started = time.monotonic()
    report = import_services({"services": entries})
    if not report.ok:
        raise SystemExit(f"import refused: {report.errors[:3]}")
    return time.monotonic() - started


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.lstrip().startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def start_pipeline(env: dict[str, str], workdir: Path, args: argparse.Namespace) -> dict[str, subprocess.Popen[bytes]]:
    """The Procfile's worker(s) and beat, as a deployment starts them (celery from the venv)."""
    commands = procfile()
    base = dict(os.environ, **env, PATH=f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", PYTHONPATH=str(ROOT))
    if args.concurrency:
        base["WORKER_CONCURRENCY"] = str(args.concurrency)
    procs = {}
    for k in range(args.workers):
        command = commands["worker"] + (f" -n bench{k + 1}@%h" if args.workers > 1 else "")
        if args.task_cpu:  # the same app with a CPU clock around each task (bench/_taskcpu.py)
            command = command.replace("-A opsportal", "-A _taskcpu")
            base.update(PYTHONPATH=f"{ROOT}:{ROOT / 'bench'}", TASK_CPU_DIR=str(workdir))
        if args.pin:
            command = f"taskset -c {k % os.cpu_count()} {command}"
        procs[f"worker{k + 1}"] = _spawn(command, base, workdir, f"worker{k + 1}")
    procs["beat"] = _spawn(commands["beat"], base, workdir, "beat")
    return procs


def _spawn(command: str, base: dict[str, str], workdir: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["/bin/sh", "-c", f"exec {command}"],
        cwd=workdir,
        env=dict(base, PGAPPNAME=f"sustained-{name}"),
        stdout=(workdir / f"{name}.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_pipeline(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


class BackendLabels(threading.Thread):
    """pid -> application_name of bench_sustained's backends, from pg_stat_activity every 2 s
    (read through the ``postgres`` database, so this connection is not one of them)."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="backend-labels")
        self.labels: dict[int, str] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            while not self.stopping.is_set():
                rows = conn.execute(
                    "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s", [DATABASE]
                ).fetchall()
                self.labels.update(rows)
                self.stopping.wait(2.0)


def wait_until(moment: float, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    while time.time() < moment:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with status {proc.returncode}; see its log")
        time.sleep(min(1.0, max(0.0, moment - time.time())))


def results_by_target(since: float) -> tuple[dict[int, list[float]], list[int]]:
    from monitoring.services.models import CheckResult, Service

    index = {pk: int(m[1]) for pk, slug in Service.objects.values_list("pk", "slug") if (m := SLUG.match(slug))}
    times: dict[int, list[float]] = {}
    rows = CheckResult.objects.filter(at__gte=dt.datetime.fromtimestamp(since, dt.UTC)).values_list("service_id", "at")
    for service_id, at in rows.iterator(chunk_size=10000):
        times.setdefault(index[service_id], []).append(at.timestamp())
    return times, sorted(index.values())


def requests_by_target(requests: list[tuple[float, str]], prefix: str) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {}
    head = f"/{prefix}/"
    for at, path in requests:
        if path.startswith(head):
            times.setdefault(int(path.rsplit("/", 1)[1]), []).append(at)
    return times


def job_summary(start: float, end: float) -> dict[str, str]:
    from opsportal.models import JobRun

    window = (dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(end, dt.UTC))
    out: dict[str, list[float]] = {}
    for kind, ms in JobRun.objects.filter(started_at__range=window, duration_ms__isnull=False).values_list(
        "kind", "duration_ms"
    ):
        out.setdefault(kind, []).append(ms)
    return {
        kind: f"{len(v)} runs, median {statistics.median(v) / 1000:.2f} s, max {max(v) / 1000:.2f} s"
        for kind, v in sorted(out.items(), key=lambda kv: -sum(kv[1]))
    }


def task_cpu(workdir: Path, start: float, end: float) -> dict[str, dict[str, float]]:
    """CPU seconds per minute, runs and median wall time of each task in the window (--task-cpu)."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for path in workdir.glob("tasks-*.log"):
        for line in path.read_text().splitlines():
            at, name, cpu, wall = line.split()
            if start <= float(at) < end:
                runs.setdefault(name, []).append((float(cpu), float(wall)))
    minutes = (end - start) / 60
    return {
        name: {
            "runs": len(v),
            "cpu_per_min": sum(c for c, _ in v) / minutes,
            "cpu_median": statistics.median(c for c, _ in v),
            "wall_median": statistics.median(w for _, w in v),
        }
        for name, v in sorted(runs.items(), key=lambda kv: -sum(c for c, _ in kv[1]))
    }


def sweeps_per_worker(workdir: Path, names: list[str], start: float, end: float) -> dict[str, int]:
    """Probes each worker made in the window, from its 'probe sweep: {...}' log lines."""
    out = {}
    for name in names:
        probed = 0
        for line in (workdir / f"{name}.log").read_text(errors="replace").splitlines():
            match = SWEEP_LOG.match(line)
            if match:
                at = dt.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").timestamp() + int(match[2]) / 1000
                probed += int(match[3]) if start <= at < end else 0
        out[name] = probed
    return out


def wait_for_quiet(max_load: float, max_wait_minutes: float) -> None:
    """On a shared machine: wait (up to ``max_wait_minutes``) for the 1-minute load average to drop."""
    deadline = time.monotonic() + max_wait_minutes * 60
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(f"  load average {os.getloadavg()[0]:.2f} > {max_load:g}: waiting", flush=True)
        time.sleep(30)


def run_size(n: int, server: TargetServer, env: dict[str, str], workdir: Path, args: argparse.Namespace) -> dict:
    print(f"\n== {n:,} services, {INTERVAL} s interval, {100 // HANG_EVERY}% hanging past the 2 s timeout", flush=True)
    if args.max_load:
        wait_for_quiet(args.max_load, args.max_wait)
    migrate_s = fresh_database()
    flush_redis()
    register_s = register(n, server)
    from django.db import connection

    connection.close()  # the bench holds no connection to bench_sustained while it measures
    print(f"database migrated in {migrate_s:.0f} s, {n:,} services imported in {register_s:.0f} s", flush=True)
    log_index = len(server.requests())
    sampler = CpuSampler(interval=0.5)
    labels = BackendLabels()
    labels.start()
    started = time.time()
    procs = start_pipeline(env, workdir, args)
    baseline = None
    if not args.no_baseline:
        baseline = Baseline.start(workdir / "baseline", [server.url("bb", i) for i in range(n)], interval=INTERVAL)
    workers = [name for name in procs if name.startswith("worker")]
    for name, proc in procs.items():
        sampler.track("worker" if name in workers else name, proc.pid, tree=True)
        if len(workers) > 1 and name in workers:
            sampler.track(name, proc.pid, tree=True)
    sampler.track_postgres(DATABASE)
    if baseline:
        sampler.track("blackbox", baseline.exporter.pid)
        sampler.track("prometheus", baseline.prometheus.pid)
    sampler.start()
    t0 = started + args.warmup * 60
    t1 = t0 + args.minutes * 60
    try:
        wait_until(t0, procs)
        before, busy0 = sampler.snapshot(), machine_busy_seconds()
        sampler.reset_loads()
        print(f"warm-up over, measuring {args.minutes:g} min (until {time.strftime('%H:%M:%S', time.localtime(t1))})")
        wait_until(t1, procs)
        after, busy1 = sampler.snapshot(), machine_busy_seconds()
    finally:
        sampler.stop()
        labels.stopping.set()
        stop_pipeline(procs)
        if baseline:
            baseline.stop()
    window = t1 - t0
    minutes = window / 60
    cpu = {group: seconds / minutes for group, seconds in CpuSampler.between(before, after).items()}
    worker_pids = CpuSampler.by_pid(before, after, "worker")
    mains = {proc.pid for name, proc in procs.items() if name in workers}
    worker_main = sum(v for pid, v in worker_pids.items() if pid in mains) / minutes
    backends = CpuSampler.by_pid(before, after, "postgres")
    by_app: dict[str, float] = {}
    for pid, seconds in backends.items():
        app = labels.labels.get(pid, "unlabelled").removeprefix("sustained-")
        by_app[app] = by_app.get(app, 0.0) + seconds / minutes
    requests = server.requests(log_index)
    with (workdir / f"requests-{n}.txt").open("w") as out:  # for a closer look afterwards
        out.writelines(f"{at:.3f} {path}\n" for at, path in requests)
    op_requests = requests_by_target(requests, "op")
    results, ids = results_by_target(started - 2 * INTERVAL)
    ops = {
        "server": tally(op_requests, ids, t0, t1, INTERVAL),
        "results": tally(results, ids, t0, t1, INTERVAL),
        "server_from_start": tally(op_requests, ids, started, t1, INTERVAL, lookback=False),
    }
    total = cpu["worker"] + cpu["beat"] + cpu["postgres"]
    loads = sampler.loads
    report: dict[str, Any] = {
        "services": n,
        "minutes": minutes,
        "warmup": args.warmup,
        "workers": args.workers,
        "pin": args.pin,
        "load_mean": statistics.mean(loads),
        "load_max": max(loads),
        "machine_busy_cores": (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]),
        "cpu_per_min": cpu,
        "worker_main": worker_main,
        "backends_by_app": by_app,
        "backends_seen": len(backends),
        "ops_total": total,
        "ops_ms_per_probe": 1000 * total * minutes / max(1, ops["server"].probes),
        "tallies": {k: vars(v) for k, v in ops.items()},
        "jobs": job_summary(t0, t1),
    }
    if args.task_cpu:
        report["task_cpu"] = task_cpu(workdir, t0, t1)
    if len(workers) > 1:
        report["per_worker"] = {
            name: {"cpu_per_min": cpu[name], "probes": count}
            for name, count in sweeps_per_worker(workdir, workers, t0, t1).items()
        }
    if baseline:
        bb = {"server": tally(requests_by_target(requests, "bb"), range(n), t0, t1, INTERVAL)}
        bb["server_from_start"] = tally(
            requests_by_target(requests, "bb"), range(n), started, t1, INTERVAL, lookback=False
        )
        bb_total = cpu["blackbox"] + cpu["prometheus"]
        report["bb_total"] = bb_total
        report["bb_ms_per_probe"] = 1000 * bb_total * minutes / max(1, bb["server"].probes)
        report["bb_tallies"] = {k: vars(v) for k, v in bb.items()}
        report["ratio"] = report["ops_ms_per_probe"] / report["bb_ms_per_probe"]
        print_report(report, ops, bb)
    else:
        print_report(report, ops, None)
    return report


def print_report(r: dict[str, Any], ops: dict[str, Tally], bb: dict[str, Tally] | None) -> None:
    cpu = r["cpu_per_min"]
    apps = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["backends_by_app"].items()))
    print(
        f"window {r['minutes']:.1f} min after {r['warmup']:g} min warm-up; load average (1 min) mean "
        f"{r['load_mean']:.2f}, max {r['load_max']:.2f}; whole machine busy {r['machine_busy_cores']:.2f} of "
        f"{os.cpu_count()} cores"
    )
    print("Ops Portal, CPU s/min:")
    print(
        f"  worker {cpu['worker']:.2f} ({r['workers']} x Procfile worker{', pinned' if r['pin'] else ''}; "
        f"main process {r['worker_main']:.2f}, pool {cpu['worker'] - r['worker_main']:.2f}), "
        f"beat {cpu['beat']:.2f}, PostgreSQL backends {cpu['postgres']:.2f} ({apps}; {r['backends_seen']} backends)"
    )
    print(
        f"  total {r['ops_total']:.2f} s/min = {r['ops_ms_per_probe']:.2f} ms per probe   "
        f"[autovacuum on the database {cpu.get('autovacuum', 0):.2f} s/min, not counted]"
    )
    for name, figures in r.get("per_worker", {}).items():
        print(f"  {name}: {figures['cpu_per_min']:.2f} s/min, {figures['probes']} probes in the window")
    print(f"  target server: {ops['server'].line()}")
    print(f"  CheckResult:   {ops['results'].line()}")
    print(f"  from the start (warm-up included), target server: {ops['server_from_start'].line()}")
    print(f"  probes per minute (target server): {ops['server'].per_minute}")
    for kind, line in r["jobs"].items():
        print(f"  job {kind}: {line}")
    for name, f in r.get("task_cpu", {}).items():
        print(
            f"  task {name}: {f['runs']} runs, {f['cpu_per_min']:.2f} CPU s/min in the pool "
            f"(median {f['cpu_median'] * 1000:.0f} ms CPU, {f['wall_median'] * 1000:.0f} ms wall)"
        )
    if bb is not None:
        print("blackbox exporter + Prometheus, CPU s/min:")
        print(
            f"  blackbox {cpu['blackbox']:.2f}, prometheus {cpu['prometheus']:.2f}, total {r['bb_total']:.2f} s/min "
            f"= {r['bb_ms_per_probe']:.2f} ms per probe"
        )
        print(f"  target server: {bb['server'].line()}")
        print(f"  from the start (warm-up included): {bb['server_from_start'].line()}")
        print(f"  probes per minute (target server): {bb['server'].per_minute}")
        print(f"ratio, CPU per probe, Ops Portal / blackbox + Prometheus: {r['ratio']:.2f}x (target <= 0.75x)")
    print(f"sustained within the 2 cores with half a core to spare (total <= 90 s/min): {r['ops_total'] <= 90}")


def summary(reports: list[dict[str, Any]]) -> None:
    print(
        "\n| services | Ops Portal s/min (worker, beat, backends) | ms/probe | missed/doubled (server, results) |"
        " blackbox+Prometheus s/min | ms/probe | missed/doubled | ratio | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in reports:
        c, t = r["cpu_per_min"], r["tallies"]
        ops = f"{r['ops_total']:.2f} ({c['worker']:.2f}, {c['beat']:.2f}, {c['postgres']:.2f})"
        counts = f"{t['server']['missed']}/{t['server']['doubled']}, {t['results']['missed']}/{t['results']['doubled']}"
        if "bb_total" in r:
            bt = r["bb_tallies"]["server"]
            bb = (
                f"{r['bb_total']:.2f} | {r['bb_ms_per_probe']:.2f} | {bt['missed']}/{bt['doubled']} | {r['ratio']:.2f}x"
            )
        else:
            bb = "- | - | - | -"
        load = f"{r['load_mean']:.1f} (max {r['load_max']:.1f})"
        print(f"| {r['services']:,} | {ops} | {r['ops_ms_per_probe']:.2f} | {counts} | {bb} | {load} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", default="1000", help="one N or a comma-separated list (1000,5000,10000)")
    parser.add_argument("--minutes", type=float, default=5.0, help="measured minutes after the warm-up")
    parser.add_argument("--warmup", type=float, default=1.0, help="minutes before the measurement starts")
    parser.add_argument("--quick", action="store_true", help="1 measured minute after 0.5 min warm-up")
    parser.add_argument("--workers", type=int, default=1, help="worker processes sharing the sweep")
    parser.add_argument("--pin", action="store_true", help="pin worker k to core k with taskset")
    parser.add_argument("--concurrency", type=int, default=0, help="WORKER_CONCURRENCY (default: the Procfile's)")
    parser.add_argument("--task-cpu", action="store_true", help="CPU per task kind (bench/_taskcpu.py app)")
    parser.add_argument("--no-baseline", action="store_true", help="skip blackbox exporter + Prometheus")
    parser.add_argument("--max-load", type=float, default=0.0, help="wait for a 1-min load average below this")
    parser.add_argument("--max-wait", type=float, default=15.0, help="minutes to wait for --max-load at most")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.warmup = 1.0, 0.5
    sizes = [int(s.replace("_", "")) for s in args.services.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-sustained-"))
    env = bench_env(workdir)
    os.environ.update(env)
    raise_fd_limit()
    if not args.no_baseline:
        print("baseline: " + "; ".join(ensure_installed()))
    import django

    django.setup()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; logs and configs in {workdir}")
    server = TargetServer.start()
    reports = []
    try:
        for n in sizes:
            reports.append(run_size(n, server, env, workdir, args))
    finally:
        server.stop()
    summary(reports)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1, default=str))


if __name__ == "__main__":
    main()
