#!/usr/bin/env python3
"""Run the processes of a Procfile (``make run``: web, worker, beat, demo) and stop them cleanly.

Like honcho, with a stop that prints no error: each process runs in its own session, so a
Ctrl-C reaches only this supervisor, which sends SIGTERM to each process's main pid (not its
group: Celery's pool children are stopped by their parent, and the parent does not log them as
killed) and waits up to ``DEV_STOP_SECONDS`` (30) for a warm shutdown before it kills anything.

The processes that watch (``DEV_STOP_FIRST``, default ``worker beat``) are stopped first and the
rest once they have ended: stopped all at once, the worker's last probes of the demo target and
of the portal's own /api/health failed while those shut down, and were stored as real failures
(a red uptime cell, a burned error budget) after every Ctrl-C.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

COLOURS = ["36", "33", "32", "35", "34", "31"]
LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def read_procfile(path: Path) -> list[tuple[str, str]]:
    entries = []
    for raw in path.read_text().splitlines():
        match = LINE.match(raw.strip())
        if match and not raw.lstrip().startswith("#"):
            entries.append((match[1], match[2]))
    return entries


def main(procfile: str) -> int:
    entries = read_procfile(Path(procfile))
    width = max(len(name) for name, _ in entries)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    sel = selectors.DefaultSelector()
    tty = sys.stdout.isatty()

    def say(name: str, text: str) -> None:
        label = f"{time.strftime('%H:%M:%S')} {name:<{width}} | "
        if tty:
            colour = COLOURS[[n for n, _ in entries].index(name) % len(COLOURS)] if name in procs else "0"
            label = f"\033[{colour}m{label}\033[0m"
        sys.stdout.write(label + text + "\n")
        sys.stdout.flush()

    for name, command in entries:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        procs[name] = proc
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        sel.register(proc.stdout, selectors.EVENT_READ, name)
        say(name, f"started (pid {proc.pid})")

    stopping = {"since": 0.0}
    first = [n for n in os.environ.get("DEV_STOP_FIRST", "worker beat").split() if n in procs]
    later = [n for n in procs if n not in first]
    pending_later: list[str] = []

    def terminate(names: list[str]) -> None:
        for name in names:
            proc = procs[name]
            if proc.poll() is None:
                say(name, "stopping")
                proc.send_signal(signal.SIGTERM)

    def stop(_signum: int, _frame: object) -> None:
        if stopping["since"]:
            return
        stopping["since"] = time.monotonic()
        sys.stdout.write("\n")
        terminate(first)
        pending_later[:] = later

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    limit = float(os.environ.get("DEV_STOP_SECONDS", "30"))
    partial: dict[str, bytes] = {}
    reported: set[str] = set()
    code = 0
    while True:
        for key, _ in sel.select(timeout=0.2):
            name = key.data
            data = key.fileobj.read() or b""  # type: ignore[union-attr]
            if not data:
                sel.unregister(key.fileobj)
                continue
            lines = (partial.pop(name, b"") + data).split(b"\n")
            partial[name] = lines.pop()
            for line in lines:
                say(name, line.decode("utf-8", "replace").rstrip("\r"))
        for name, proc in procs.items():
            if name not in reported and proc.poll() is not None:
                reported.add(name)
                rc = proc.returncode
                clean = bool(stopping["since"]) and rc in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
                say(name, "stopped" if clean else f"exited with status {rc}")
                if not stopping["since"]:
                    code = code or (rc or 1)
                    stop(signal.SIGTERM, None)  # one process ended on its own: stop the rest
        if pending_later and all(procs[n].poll() is not None for n in first):
            terminate(pending_later)  # the watchers have ended: now what they watch
            pending_later.clear()
        if len(reported) == len(procs):
            return code
        if stopping["since"] and time.monotonic() - stopping["since"] > limit:
            for name, proc in procs.items():
                if proc.poll() is None:
                    say(name, f"did not stop within {limit:.0f} s; killing it")
                    os.killpg(proc.pid, signal.SIGKILL)
            stopping["since"] = time.monotonic() + 3600  # kill once


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "Procfile.dev"))
