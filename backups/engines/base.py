"""What every engine shares: typed failures, the engine protocol and subprocess plumbing.

An engine is configuration in, typed outcome out (the django-health-check shape): ``dump()``
writes raw bytes into a sink and returns a manifest, or raises ``DumpFailed`` with a reason
that is safe to show; ``verify()`` and ``restore()`` consume decompressed chunks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

Progress = Callable[[], None]


class EngineError(Exception):
    """Base of the typed engine failures; ``str()`` is a short reason without secrets."""


class DumpFailed(EngineError):
    pass


class VerifyFailed(EngineError):
    pass


class RestoreFailed(EngineError):
    pass


class Sink(Protocol):
    def write(self, data: bytes | memoryview) -> int: ...


class Engine(Protocol):
    kind: str

    def versions(self) -> dict[str, str]: ...
    def expected_size(self) -> int | None: ...
    def dump(self, sink: Sink, log: Callable[[str], None], progress: Progress) -> dict[str, Any]: ...
    def verify(self, chunks: Iterable[bytes], manifest: dict[str, Any], log: Callable[[str], None]) -> str: ...
    def own_target_name(self) -> str: ...
    def target_exists(self, name: str) -> bool: ...
    def create_target(self, name: str) -> None: ...
    def restore(self, chunks: Iterable[bytes], name: str, log: Callable[[str], None], progress: Progress) -> None: ...
    def count_target(self, name: str, manifest: dict[str, Any]) -> list[dict[str, Any]]: ...
    def smoke(self, name: str, queries: list[str]) -> list[dict[str, Any]]: ...
    def migrate_check(self, name: str) -> tuple[bool, str]: ...
    def drop_target(self, name: str) -> None: ...
    def scrub(self, text: str) -> str: ...


def describe_status(code: int | None) -> str:
    if code is None:
        return "did not finish"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


class StderrCollector(threading.Thread):
    """Reads a process's stderr in the background (so the pipe never fills), keeping the tail."""

    def __init__(self, stream: Any, limit: int = 64_000) -> None:
        super().__init__(name="stderr", daemon=True)
        self.stream = stream
        self.limit = limit
        self.buf = bytearray()

    def run(self) -> None:
        for line in iter(self.stream.readline, b""):
            self.buf += line
            if len(self.buf) > self.limit:
                del self.buf[: len(self.buf) - self.limit]

    def text(self) -> str:
        self.join(timeout=10)
        return self.buf.decode("utf-8", "replace").strip()


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error" in line.lower() or "fatal" in line.lower()]


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """A minimal environment for pg_dump/pg_restore: no inherited variables that could hold secrets."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(extra)
    return env


def enlarge_pipe(fd: int, size: int = 1 << 20) -> None:
    """Ask for a 1 MiB pipe buffer (Linux): fewer wake-ups between pg_dump and the compressor."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def wait_with_progress(proc: subprocess.Popen[bytes], progress: Progress, every: float = 2.0) -> int:
    """Wait for ``proc`` while still reporting progress (heartbeats) during a long tail."""
    while True:
        try:
            return proc.wait(timeout=every)
        except subprocess.TimeoutExpired:
            progress()


def feed(proc: subprocess.Popen[bytes], chunks: Iterable[bytes], progress: Progress) -> bool:
    """Write ``chunks`` to the process's stdin; False if it closed its input early.

    Exceptions raised by ``chunks`` (a checksum mismatch found at the end, say) propagate
    after the process is killed, so nothing half-fed is ever left to finish on its own.
    """
    assert proc.stdin is not None
    try:
        for chunk in chunks:
            proc.stdin.write(chunk)
            progress()
        proc.stdin.close()
    except BrokenPipeError:
        return False
    except BaseException:
        kill(proc)
        raise
    return True


class IterReader:
    """A read-only file object over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buf) < size):
            try:
                self._buf += next(self._it)
            except StopIteration:
                self._done = True
        if size < 0:
            out = bytes(self._buf)
            self._buf.clear()
            return out
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def drain(self) -> None:
        """Consume the rest (so the checksum of the whole stream is checked)."""
        while self.read(1 << 20):
            pass
