"""Group commit for pings: a web process's request threads hand their pings to one writer thread,
which stores whatever has arrived meanwhile in one batch (``ping_store.store_batch``: one read,
one write, whatever the number) and wakes each request with what became of its ping.

A request waits for its ping to be committed before it answers, so a 200 is always a stored
row. Under load the batches grow by themselves: while one is written, the next gathers. A ping
alone is written at once (no timer, no added latency; waiting a millisecond or two to gather
bigger batches was measured and saved nothing). Pings a database error kept from being stored
(``store_batch`` says which: nothing of them was written) are tried once more on a fresh
connection, so a connection the database dropped fails no ping. A request whose ping is not
stored within ``WAIT_SECONDS`` answers 503, and its ping is dropped if it was not written yet.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence

from django.db import DatabaseError, close_old_connections, connection

from monitoring.services.ping_store import Pinged, Stored, store_batch
from opsportal import metrics

log = logging.getLogger(__name__)

MAX_BATCH = 256
WAIT_SECONDS = 10.0
# The writer's connection is checked (CONN_MAX_AGE, CONN_HEALTH_CHECKS) this often, not per
# batch: per batch, Django's health check is one more round trip (SELECT 1) per write.
CONNECTION_CHECK_SECONDS = 5.0
BATCH_SIZE = metrics.Histogram(
    "opsportal_ping_batch_size",
    "Pings a web process's writer stored together (group commit), per batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=metrics.REGISTRY,
)


class _Pending:
    """One ping waiting for the writer; ``done`` is released when ``result`` or ``error`` is set."""

    __slots__ = ("abandoned", "done", "error", "finished", "item", "result")

    def __init__(self, item: Pinged) -> None:
        self.item = item
        self.result: Stored | None = None
        self.error: DatabaseError | None = None
        self.done = threading.Lock()
        self.done.acquire()
        self.abandoned = False
        self.finished = False

    def finish(self, result: Stored | DatabaseError) -> None:
        if isinstance(result, DatabaseError):
            self.error = result
        else:
            self.result = result
        self.finished = True
        self.done.release()


class Batcher:
    """The writer thread of one process, started by the first ping."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: Pinged, timeout: float = WAIT_SECONDS) -> Stored | DatabaseError:
        """Store ``item`` with whatever else is waiting: what became of it, or the database error
        that kept it from being stored. TimeoutError when the writer did not get to it in time."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._start()
        pending = _Pending(item)
        self._queue.put(pending)
        if not pending.done.acquire(timeout=timeout):
            pending.abandoned = True
            raise TimeoutError("the ping was not stored in time")
        return pending.error or pending.result  # type: ignore[return-value]

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ping-writer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the writer thread (and close its connection); tests, between servers."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=WAIT_SECONDS)

    def _run(self) -> None:
        checked = time.monotonic()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # stop after this batch
                        break
                    batch.append(more)
                batch = [p for p in batch if not p.abandoned]
                if not batch:
                    continue
                try:
                    if time.monotonic() - checked > CONNECTION_CHECK_SECONDS:
                        checked = time.monotonic()
                        close_old_connections()
                    self._write(batch)
                except Exception as error:  # the writer outlives any batch: no request waits in vain
                    log.exception("the ping writer failed a batch of %d pings", len(batch))
                    self._fail(batch, error)
        finally:
            connection.close()

    @staticmethod
    def _fail(batch: Sequence[_Pending], error: Exception) -> None:
        try:
            connection.close()
        except Exception:
            log.exception("the ping writer's connection could not be closed")
        for pending in batch:
            if not pending.finished:
                pending.finish(DatabaseError(type(error).__name__))

    def _write(self, batch: Sequence[_Pending]) -> None:
        try:
            results = store_batch([p.item for p in batch])
        except Exception as error:
            log.exception("a batch of %d pings could not be stored", len(batch))
            results = [DatabaseError(type(error).__name__)] * len(batch)
        failed = [i for i, r in enumerate(results) if isinstance(r, DatabaseError)]
        if failed:  # nothing of these was written: once more, on a fresh connection
            log.warning("%d of %d pings failed (%s); trying them again", len(failed), len(batch), results[failed[0]])
            connection.close()
            try:
                again = store_batch([batch[i].item for i in failed])
            except Exception as error:
                log.exception("%d pings could not be stored", len(failed))
                again = [DatabaseError(type(error).__name__)] * len(failed)
            for i, result in zip(failed, again, strict=True):
                results[i] = result
            if any(isinstance(r, DatabaseError) for r in again):
                connection.close()
        BATCH_SIZE.observe(len(batch))
        for pending, result in zip(batch, results, strict=True):
            pending.finish(result)


_batcher: Batcher | None = None
_batcher_lock = threading.Lock()


def current() -> Batcher:
    global _batcher
    if _batcher is None:
        with _batcher_lock:
            if _batcher is None:
                _batcher = Batcher()
    return _batcher


def submit(item: Pinged) -> Stored | DatabaseError:
    return current().submit(item)


def stop() -> None:
    global _batcher
    with _batcher_lock:
        batcher, _batcher = _batcher, None
    if batcher is not None:
        batcher.stop()


def _forget_after_fork() -> None:
    """A forked child (gunicorn's workers, Celery's) has no writer thread: it starts its own."""
    global _batcher, _batcher_lock
    _batcher, _batcher_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
