"""Scheduling: claim due policies, weekly re-verification, monthly drills, and the reaper.

Each policy carries its own ``next_due_at``. The dispatcher locks due policies with
``select_for_update(skip_locked=True)``, queues one run each and moves ``next_due_at`` on in the
same transaction, so two beats or two workers dispatching at once queue one run. The partial
unique index on active runs is the second guard.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import alerting, conf
from .choices import ACTIVE_DRILL_STATES, ACTIVE_RESTORE_STATES, DrillState, RestoreState, RunState, Trigger
from .engines import engine_for
from .jobs import AlreadyRunning, enqueue, queue_drill, queue_run
from .models import BackupRun, Policy, RestoreDrill, RestoreRun
from .targets import DrillRefused
from .verify import ReverifyResult, reverify_policy

log = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    queued: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def run_due(now: dt.datetime | None = None, *, send: Callable[[BackupRun], None] = enqueue) -> DispatchResult:
    """Queue a run for every enabled policy that is due; each policy moves to its next time."""
    now = now or timezone.now()
    result = DispatchResult()
    with transaction.atomic():
        due = list(
            Policy.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(enabled=True, next_due_at__lte=now)
            .select_related("source", "destination")
            .order_by("next_due_at")
        )
        for policy in due:
            Policy.objects.filter(pk=policy.pk).update(next_due_at=policy.next_after(now))
            try:
                run = queue_run(policy, trigger=Trigger.SCHEDULE)
            except AlreadyRunning:
                result.skipped.append(policy.slug)
                log.warning("policy %s is due but its previous run is still active; skipped", policy.slug)
                continue
            send(run)
            result.queued.append(run.pk)
    return result


@dataclass
class ReapResult:
    runs: list[int] = field(default_factory=list)
    drills: list[int] = field(default_factory=list)
    restores: list[int] = field(default_factory=list)
    cleaned: list[int] = field(default_factory=list)


def reap_stale(now: dt.datetime | None = None) -> ReapResult:
    """Fail runs, drills and restores whose worker stopped reporting; remove what they left behind."""
    now = now or timezone.now()
    stale = now - dt.timedelta(minutes=conf.BACKUP_STALE_MINUTES.get())
    never = now - dt.timedelta(minutes=conf.BACKUP_QUEUED_MINUTES.get())
    result = ReapResult()
    candidates = BackupRun.objects.filter(state__in=[RunState.RUNNING, RunState.VERIFYING], heartbeat_at__lt=stale)
    queued = BackupRun.objects.filter(state=RunState.QUEUED, created_at__lt=never)
    for run in [*candidates, *queued]:
        reason = (
            "no worker picked the run up"
            if run.state == RunState.QUEUED
            else f"the worker stopped reporting (last heartbeat {timezone.localtime(run.heartbeat_at):%H:%M:%S}); reaped"
        )
        cleanup = dict(run.cleanup)
        if run.state == RunState.VERIFYING and run.location:
            cleanup = {"partial": run.location}  # committed but never proven good: remove it
        moved = BackupRun.objects.filter(pk=run.pk, state=run.state, heartbeat_at=run.heartbeat_at).update(
            state=RunState.FAILED, finished_at=now, error=reason, cleanup=cleanup
        )
        if moved:
            result.runs.append(run.pk)
            BackupRun.objects.filter(pk=run.pk).update(
                log=f"{run.log}\n{timezone.localtime():%Y-%m-%d %H:%M:%S} {reason}"
            )
            alerting.run_failed(run.policy.slug, run.pk, reason, run.get_absolute_url())
    for drill in RestoreDrill.objects.filter(state__in=ACTIVE_DRILL_STATES).select_related("policy__source"):
        last = drill.heartbeat_at or drill.created_at
        limit = never if drill.state == DrillState.QUEUED else stale
        if last >= limit:
            continue
        reason = "the worker stopped reporting; reaped"
        if RestoreDrill.objects.filter(pk=drill.pk, state=drill.state).update(
            state=DrillState.FAILED, finished_at=now, error=reason
        ):
            result.drills.append(drill.pk)
            _drop_abandoned(drill)
            alerting.drill_failed(drill.policy.slug, drill.pk, reason, drill.get_absolute_url())
    for job in RestoreRun.objects.filter(state__in=ACTIVE_RESTORE_STATES):
        last = job.heartbeat_at or job.created_at
        if last >= (never if job.state == RestoreState.QUEUED else stale):
            continue
        reason = (
            "no worker picked the restore up"
            if job.state == RestoreState.QUEUED
            else "the worker stopped reporting; reaped"
        )
        if RestoreRun.objects.filter(pk=job.pk, state=job.state).update(
            state=RestoreState.FAILED, finished_at=now, error=reason
        ):
            result.restores.append(job.pk)
    result.cleaned = retry_cleanups()
    return result


def _drop_abandoned(drill: RestoreDrill) -> None:
    if not drill.target_name or drill.started_at is None:
        return
    try:
        engine_for(drill.policy.source).drop_target(drill.target_name)
        RestoreDrill.objects.filter(pk=drill.pk).update(target_dropped=True)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not drop the scratch target of drill %s: %s", drill.pk, exc)


def retry_cleanups() -> list[int]:
    """Remove partial objects and abort multipart uploads that failed runs left behind."""
    done = []
    for run in BackupRun.objects.filter(state=RunState.FAILED).exclude(cleanup={}).select_related("destination"):
        try:
            run.destination.storage().cleanup(run.cleanup)
        except Exception as exc:  # noqa: BLE001 - try again next time
            log.info("cleanup of run %s not possible yet: %s", run.pk, exc)
            continue
        BackupRun.objects.filter(pk=run.pk).update(cleanup={})
        done.append(run.pk)
    return done


def reverify_all() -> dict[str, list[ReverifyResult]]:
    """The weekly integrity check of every kept backup of every policy."""
    return {policy.slug: reverify_policy(policy) for policy in Policy.objects.all()}


def drill_all(*, send: Callable[[RestoreDrill], None] = enqueue) -> dict[str, str]:
    """The monthly restore drill of every enabled policy."""
    outcome = {}
    for policy in Policy.objects.filter(enabled=True).select_related("source"):
        try:
            drill = queue_drill(policy, trigger=Trigger.SCHEDULE)
        except (DrillRefused, AlreadyRunning) as exc:
            outcome[policy.slug] = f"not started: {exc}"
            if isinstance(exc, DrillRefused):
                alerting.drill_failed(policy.slug, 0, str(exc), policy.get_absolute_url())
            continue
        send(drill)
        outcome[policy.slug] = f"queued drill #{drill.pk}"
    return outcome
