"""`make run` in a fresh checkout: commands work there without variables; start and stop print no error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

NOISE = ("AXES: BEGIN", "No hostname was supplied", "ERROR", "SIGKILL", "Traceback", "killing it")


def clean_env(**extra: str) -> dict[str, str]:
    """What a new user's shell has: no project variables at all."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), **extra}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the tracked files, set up by scripts/run.sh (stopping before the processes start)."""
    base = Path(settings.BASE_DIR)
    dest = tmp_path_factory.mktemp("checkout")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=base, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (base / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes((base / rel).read_bytes())
            (dest / rel).chmod((base / rel).stat().st_mode)
    (dest / ".venv").symlink_to((base / ".venv").resolve())
    setup = subprocess.run(
        ["bash", "scripts/run.sh"],
        cwd=dest,
        env=clean_env(RUN_SETUP_ONLY="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    for word in ("AXES: BEGIN", "No hostname was supplied", "Traceback", "System check identified"):
        assert word not in setup.stdout + setup.stderr, (word, setup.stdout[-2000:] + setup.stderr[-2000:])
    return dest


def test_manage_py_works_in_the_checkout_without_variables(checkout: Path) -> None:
    listed = subprocess.run(
        [".venv/bin/python", "manage.py", "backup", "list"],
        cwd=checkout,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "ops-portal" in listed.stdout and "sqlite" in listed.stdout
    assert "SECRET_KEY" not in listed.stderr
    # An explicit DEBUG=false with no secret is still refused (production must set SECRET_KEY).
    strict = subprocess.run(
        [".venv/bin/python", "manage.py", "backup", "list"],
        cwd=checkout,
        env=clean_env(DEBUG="false"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert strict.returncode != 0 and "SECRET_KEY: required" in strict.stderr


def test_worker_and_beat_start_and_stop_cleanly(checkout: Path) -> None:
    procfile = checkout / "Procfile.test"
    lines = [
        line for line in (checkout / "Procfile.dev").read_text().splitlines() if line.startswith(("worker:", "beat:"))
    ]
    procfile.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [".venv/bin/python", "scripts/devserver.py", "Procfile.test"],
        cwd=checkout,
        env=clean_env(SECRET_KEY_FILE=str(checkout / "data" / "secret_key"), DEBUG="false", HTTPS="false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    ready = False
    while time.monotonic() < deadline and not ready:
        line = proc.stdout.readline()
        out.append(line)
        ready = "ready." in line
    assert ready, "".join(out)[-3000:]
    time.sleep(3)  # beat sends its first tasks; the worker runs them
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
    rest, _ = proc.communicate(timeout=60)
    text = "".join(out) + rest
    assert proc.returncode == 0, text[-3000:]
    assert "worker | stopped" in text and "beat   | stopped" in text
    for word in NOISE:
        assert word not in text, (word, text[-3000:])


def test_gunicorn_conf_reads_web_threads_through_the_settings_mechanism() -> None:
    """gunicorn.conf.py takes WEB_THREADS as declared (bounds checked); a bad value stops gunicorn
    with one line naming it, no traceback."""
    base = Path(settings.BASE_DIR)

    def gunicorn(option: str, threads: str) -> subprocess.CompletedProcess[str]:
        command = [str(base / ".venv/bin/gunicorn"), "opsportal.wsgi", option]
        return subprocess.run(
            command,
            cwd=base,
            # gunicorn loads the application too: what production has (a secret), no more
            env=clean_env(WEB_THREADS=threads, SECRET_KEY="test-only-not-a-secret", DEBUG="false", HTTPS="false"),
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = gunicorn("--print-config", "8")
    assert good.returncode == 0, good.stderr[-2000:]
    assert any(line.split() == ["threads", "=", "8"] for line in good.stdout.splitlines())
    assert any(line.split() == ["worker_class", "=", "gthread"] for line in good.stdout.splitlines())
    bad = gunicorn("--check-config", "0")
    assert bad.returncode != 0
    assert "WEB_THREADS: must be at least 1, got 0" in bad.stderr and "Traceback" not in bad.stderr


def test_a_stop_ends_the_watchers_before_what_they_watch(tmp_path: Path) -> None:
    """Ctrl-C stops worker and beat first, the web and the demo target after they have ended: all at
    once, the worker's last probes failed against a demo target already gone and were stored."""
    slow_stop = (
        "import signal, sys, time; "
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1), print('done', flush=True), sys.exit(0))); "
        "print('up', flush=True); time.sleep(60)"
    )
    procfile = tmp_path / "Procfile"
    procfile.write_text(f'demo: {sys.executable} -c "{slow_stop}"\nworker: {sys.executable} -c "{slow_stop}"\n')
    proc = subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "scripts/devserver.py"), str(procfile)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    out: list[str] = []
    assert proc.stdout is not None
    while sum("| up" in line for line in out) < 2:
        out.append(proc.stdout.readline())
    os.killpg(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    lines = [line.split(" ", 1)[1] for line in ("".join(out) + rest).splitlines() if "|" in line]
    assert proc.returncode == 0, lines
    order = [line for line in lines if line.endswith(("stopping", "stopped"))]
    assert [line.split()[0] + " " + line.split()[-1] for line in order] == [
        "worker stopping", "worker stopped", "demo stopping", "demo stopped",
    ]  # fmt: skip
