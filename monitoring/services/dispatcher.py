"""The worker's probe dispatcher: one long-running loop in each Celery worker that claims due services and sweeps them.

A worker bootstep (``DispatcherStep``) starts it. Every DISPATCH_EVERY_SECONDS it asks whether an
unclaimed service has come due (one indexed EXISTS query) and, when one has, claims what is due
and probes it in one sweep (monitoring.services.dispatch), recorded as a "probe sweep" job. Claims
keep two workers, or a worker and a "probe now", from probing one service twice, so any number of
workers can run it. It replaces beat's dispatch task every 5 s: a pass that finds nothing due
costs that one query, with no broker message, no task and no job bookkeeping. The loop also knows
when it last looked, which tells a service that came due since (probed) from one that was due
before this worker started (stale: moved to its next slot, see monitoring.services.slots).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import threading
import time
from contextlib import nullcontext
from typing import Any

from celery import bootsteps
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from monitoring.services import conf
from monitoring.services.choices import ServiceStatus
from monitoring.services.dispatch import DEFAULT_BATCH, SweepReport, claim_due, probe_claimed
from monitoring.services.models import Service
from opsportal.jobs import record_job

log = logging.getLogger(__name__)

# The loop runs in a thread of the worker's main process, which forks the pool's children. A fork
# taken while this thread is inside SQLite copies SQLite's held locks into the child, where nothing
# ever releases them (seen: a child's first query waited forever, and the worker's warm shutdown
# with it). On SQLite each pass holds this lock and a fork waits for it. Not on PostgreSQL: libpq
# keeps no lock across a query outside the connection, which the child never uses, and a pass
# that holds the lock through its sweep (up to the longest timeout) would hold up the worker's
# main loop whenever it forks a replacement child.
_fork_guard = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_fork_guard.acquire, after_in_parent=_fork_guard.release, after_in_child=_fork_guard.release
    )


def _fork_guarded() -> bool:
    return connection.vendor == "sqlite"


def due_now(now: dt.datetime) -> bool:
    """Whether any enabled, unclaimed service has come due (the index on next_due_at answers it)."""
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return (
        Service.objects.filter(unclaimed, enabled=True, next_due_at__lte=now)
        .exclude(status=ServiceStatus.PAUSED)
        .exists()
    )


JITTER = 0.25


class Dispatcher:
    """The state of one dispatcher loop: the time of its previous pass."""

    def __init__(self, every: float, *, limit: int = DEFAULT_BATCH) -> None:
        self.every = every
        self.limit = limit
        self.fresh_since: dt.datetime | None = None

    def pass_once(self, now: dt.datetime | None = None) -> SweepReport | None:
        """Claim and probe what is due now; None when nothing was."""
        now = now or timezone.now()
        # On its first pass the loop has not been looking: what fell due over a pass ago is stale.
        fresh_since = self.fresh_since or now - dt.timedelta(seconds=self.every)
        if not due_now(now):
            self.fresh_since = now
            return None
        token, services = claim_due(now=now, limit=self.limit)
        # A full batch leaves due services behind: they are not stale at the next pass.
        self.fresh_since = fresh_since if len(services) >= self.limit else now
        if not services:
            return None
        with record_job("probe sweep") as job:
            report = probe_claimed(services, token, fresh_since=fresh_since)
            job.stats = report.as_dict()
            job.summary = f"probed {report.probed}, {report.failed} failed, {len(report.flips)} state change(s)"
        return report

    def next_wait(self, elapsed: float) -> float:
        """Seconds until the next pass: ``every`` on average, each time drawn from +/- JITTER of it.

        Two workers whose loops started a moment apart would otherwise keep that phase forever,
        and the one that looks first after services come due takes all of them (measured: 30,642
        probes against 190 in 3 minutes at 10,000 services). Drifting phases share the sweep."""
        return max(0.0, self.every * random.uniform(1 - JITTER, 1 + JITTER) - elapsed)

    def run(self, stopping: threading.Event) -> None:
        """Pass every ``every`` seconds until ``stopping`` is set; a failed pass is logged and the loop goes on."""
        try:
            while not stopping.is_set():
                began = time.monotonic()
                with _fork_guard if _fork_guarded() else nullcontext():
                    close_old_connections()
                    try:
                        self.pass_once()
                    except Exception:
                        log.exception("probe dispatcher pass failed")
                        connection.close()
                stopping.wait(self.next_wait(time.monotonic() - began))
        finally:
            with _fork_guard if _fork_guarded() else nullcontext():
                connection.close()


class DispatcherStep(bootsteps.StartStopStep):
    """Runs the dispatcher loop in a thread of the worker's main process (DISPATCH_EVERY_SECONDS; 0: none)."""

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def start(self, worker: Any) -> None:
        every = conf.DISPATCH_EVERY_SECONDS.get()
        if not every:
            return
        self.stopping.clear()
        self.thread = threading.Thread(
            target=Dispatcher(every).run, args=(self.stopping,), name="probe-dispatcher", daemon=True
        )
        self.thread.start()

    def stop(self, worker: Any) -> None:
        if self.thread is not None:
            self.stopping.set()
            self.thread.join(timeout=60)  # a sweep in progress ends within its deadline
            self.thread = None
