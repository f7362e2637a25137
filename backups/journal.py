"""The log, step timings and heartbeat of a long job (a BackupRun or a RestoreDrill row).

Everything goes through ``scrub`` first, so a password can never reach the row. Writes are
``QuerySet.update()`` calls, throttled to one per few seconds while bytes stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, models
from django.utils import timezone

from . import conf
from .models import LOG_LIMIT

logger = logging.getLogger("backups")


class JobStopped(Exception):
    """The job must stop: it ran past its timeout, or the reaper already failed its row."""


class Journal:
    """Collects log lines and steps for one row and writes them with a heartbeat."""

    def __init__(
        self,
        obj: models.Model,
        scrub: Callable[[str], str] | None = None,
        *,
        active_states: tuple[str, ...] = (),
        timeout_seconds: float | None = None,
    ) -> None:
        self.model = type(obj)
        self.pk = obj.pk
        self.label = str(obj)
        self.lines: list[str] = [obj.log] if getattr(obj, "log", "") else []
        self.steps: list[dict[str, Any]] = list(getattr(obj, "steps", []) or [])
        self.scrub = scrub or (lambda s: s)
        self._last_beat = 0.0
        self._every = conf.BACKUP_HEARTBEAT_SECONDS.get()
        self.active_states = tuple(str(s) for s in active_states)
        self.deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
        self.timeout_seconds = timeout_seconds

    def log(self, message: str) -> None:
        message = self.scrub(message)
        self.lines.append(f"{timezone.localtime():%Y-%m-%d %H:%M:%S} {message}")
        logger.info("%s: %s", self.label, message)

    def text(self) -> str:
        text = "\n".join(self.lines)
        if len(text) > LOG_LIMIT:
            text = "… (earlier lines trimmed)\n" + text[-LOG_LIMIT:]
        return text

    @contextmanager
    def step(self, name: str, label: str) -> Iterator[dict[str, Any]]:
        """Time one step; its entry records ok/failed and a detail line."""
        entry: dict[str, Any] = {"name": name, "label": label, "ok": None, "seconds": None, "detail": ""}
        self.steps.append(entry)
        self.log(f"{label}…")
        self.flush()
        start = time.monotonic()
        try:
            yield entry
        except BaseException as exc:
            entry["ok"] = False
            entry["detail"] = entry["detail"] or self.scrub(str(exc))[:300]
            raise
        else:
            if entry["ok"] is None:
                entry["ok"] = True
        finally:
            entry["seconds"] = round(time.monotonic() - start, 3)
            verdict = "ok" if entry["ok"] else "FAILED"
            self.log(
                f"{label}: {verdict} in {entry['seconds']:.2f} s{' (' + entry['detail'] + ')' if entry['detail'] else ''}"
            )
            self.flush()

    @contextmanager
    def pulse(self) -> Iterator[None]:
        """While the block runs, a background thread writes ``heartbeat_at`` every few seconds.

        This is the worker's heartbeat on the row: it goes on through phases that report no
        progress (a long ``pg_restore`` tail, ``migrate --check``) and stops when the process
        dies, so the reaper can fail the row after a few missed beats instead of after minutes
        of silence. It also stops once the job runs past its timeout (a wedged job is then
        reaped) or the row is no longer active.
        """
        stop = threading.Event()

        def loop() -> None:
            try:
                while not stop.wait(self._every):
                    if self.deadline is not None and time.monotonic() > self.deadline:
                        logger.warning("%s: past its timeout; the heartbeat stops", self.label)
                        return
                    rows = self.model.objects.filter(pk=self.pk, state__in=self.active_states)
                    if not rows.update(heartbeat_at=timezone.now()):
                        return
            except Exception:
                logger.exception("%s: heartbeat thread stopped", self.label)
            finally:
                connection.close()

        thread = threading.Thread(target=loop, name=f"heartbeat {self.label}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    def beat(self, **fields: Any) -> None:
        """A throttled heartbeat (with progress fields) while data streams; raises JobStopped."""
        now = time.monotonic()
        if now - self._last_beat < self._every:
            return
        if self.deadline is not None and now > self.deadline:
            raise JobStopped(f"timed out after {self.timeout_seconds / 60:.0f} minutes")
        if not self.flush(require_active=True, **fields):
            raise JobStopped("the row was failed by the reaper while this worker was still busy")

    def flush(self, *, require_active: bool = False, **fields: Any) -> bool:
        """Write log, steps and heartbeat; with ``require_active``, only while the row is active."""
        self._last_beat = time.monotonic()
        rows = self.model.objects.filter(pk=self.pk)
        if require_active and self.active_states:
            rows = rows.filter(state__in=self.active_states)
        return bool(rows.update(heartbeat_at=timezone.now(), log=self.text(), steps=self.steps, **fields))
