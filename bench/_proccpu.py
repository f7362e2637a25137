"""CPU seconds of groups of processes read from /proc (utime + stime), sampled often enough to
count processes that come and go (Celery pool children, PostgreSQL backends).

    sampler = CpuSampler(interval=0.5)
    sampler.track("worker", pid, tree=True)        # the process and all its descendants
    sampler.track_postgres("bench_sustained")      # backends of that database (ps title)
    sampler.start(); ...; before = sampler.snapshot(); ...; after = sampler.snapshot()
    used = CpuSampler.between(before, after)        # {group: CPU seconds}

Each sample records the latest utime+stime of every pid seen in a group; a pid that exits
keeps its last sample (at most one interval of its CPU is lost), a pid first seen after the
first snapshot counts from zero.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
Snapshot = dict[str, dict[tuple[int, int], float]]


def cpu_seconds(pid: int) -> tuple[int, float] | None:
    """(start time, utime + stime in seconds) of a process (all its threads); None when it is gone.

    The start time tells a process from a later one that got the same pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]), (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def descendants(pid: int) -> list[int]:
    seen, todo = [pid], [pid]
    while todo:
        for child in children(todo.pop()):
            seen.append(child)
            todo.append(child)
    return seen


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process (the postgres process whose parent is not postgres)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        line = cmdline(int(name))
        if line.split(" ", 1)[0].endswith("/bin/postgres"):
            return int(name)
    return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, wall clock) from /proc/stat, for the 'others' figure."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICK, time.monotonic()


@dataclass
class CpuSampler:
    """Samples tracked groups every ``interval`` seconds in a thread."""

    interval: float = 0.5
    groups: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    latest: dict[str, dict[tuple[int, int], float]] = field(default_factory=dict)  # (pid, start) -> s
    loads: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def track(self, group: str, pid: int, *, tree: bool = False) -> None:
        previous = self.groups.get(group)

        def pids() -> list[int]:
            own = descendants(pid) if tree else [pid]
            return own + (previous() if previous else [])

        self.groups[group] = pids

    def track_postgres(self, database: str, *, group: str = "postgres", autovacuum: str = "autovacuum") -> None:
        """Backends of ``database`` (ps title 'postgres: 15/main: user database host(port) state')
        in ``group``; autovacuum workers on it in their own group."""
        main = postmaster_pid()
        if main is None:
            raise RuntimeError("no PostgreSQL server process found on this machine")
        self._pg_main = main
        self._pg_cache: dict[tuple[int, int], str | None] = {}
        self.groups[group] = lambda: self._pg_children(database, backend=True)
        self.groups[autovacuum] = lambda: self._pg_children(database, backend=False)

    def _pg_children(self, database: str, *, backend: bool) -> list[int]:
        out = []
        for pid in children(self._pg_main):
            key = (pid, _start_time(pid))
            kind = self._pg_cache.get(key, "")
            if kind == "":
                words = cmdline(pid).split()
                kind = None
                if len(words) >= 4 and words[3] == database and words[2] != "autovacuum":
                    kind = "backend"
                elif words[2:4] == ["autovacuum", "worker"] and database in words:
                    kind = "autovacuum"
                if words[:1] == ["postgres:"] and len(words) >= 4:  # title set (a fresh fork shows the server's)
                    self._pg_cache[key] = kind
            if kind == ("backend" if backend else "autovacuum"):
                out.append(pid)
        return out

    def sample(self) -> None:
        reading: dict[str, dict[tuple[int, int], float]] = {}
        for group, pids in self.groups.items():
            values = {}
            for pid in pids():
                read = cpu_seconds(pid)
                if read is not None:
                    values[(pid, read[0])] = read[1]
            reading[group] = values
        with self._lock:
            for group, values in reading.items():
                mine = self.latest.setdefault(group, {})
                for key, seconds in values.items():
                    mine[key] = max(seconds, mine.get(key, 0.0))
            self.loads.append(os.getloadavg()[0])

    def start(self) -> None:
        self.sample()

        def run() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=run, name="cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def snapshot(self) -> Snapshot:
        self.sample()
        with self._lock:
            return {group: dict(values) for group, values in self.latest.items()}

    def reset_loads(self) -> None:
        with self._lock:
            self.loads.clear()

    @staticmethod
    def between(before: Snapshot, after: Snapshot) -> dict[str, float]:
        """CPU seconds of each group from ``before`` to ``after``."""
        return {group: sum(CpuSampler.by_pid(before, after, group).values()) for group in after}

    @staticmethod
    def by_pid(before: Snapshot, after: Snapshot, group: str) -> dict[int, float]:
        """CPU seconds of each pid of ``group`` from ``before`` to ``after`` (processes that ran)."""
        start = before.get(group, {})
        out: dict[int, float] = {}
        for key, seconds in after.get(group, {}).items():
            used = seconds - start.get(key, 0.0)
            if used > 0:
                out[key[0]] = out.get(key[0], 0.0) + used
        return out


def _start_time(pid: int) -> int:
    read = cpu_seconds(pid)
    return read[0] if read else 0
