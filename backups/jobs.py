"""The lifecycle every backups job shares: queue, send to a worker, claim.

Backup runs, restore drills and restores are rows that go queued -> running -> done.
This module owns the first half for all of them: a queued row is created under the partial
unique index that allows one active job per policy, sent to its Celery task by name after
the transaction commits (with the task id stored on the row), and claimed by a compare-and-set
from queued to running, only by the task whose id is on the row, so a redelivered task never
runs a job twice. The executors (``runner``, ``drills``, ``restores``) carry a claimed row to its end; the
tasks import this module and the executors, never the other way round.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from celery import current_app
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from opsportal import audit
from opsportal.models import AuditRecord

from .choices import DrillKind, DrillState, RestoreMode, RestoreState, RunState
from .compression import CorruptArtifact
from .engines.base import EngineError
from .journal import JobStopped
from .models import BackupRun, MissingCredential, Policy, RestoreDrill, RestoreRun
from .pipeline import AbortFailed
from .storage import StorageError
from .targets import DrillRefused, check_restore, check_target_name, new_target_name

KNOWN_FAILURES = (EngineError, StorageError, MissingCredential, AbortFailed, CorruptArtifact, JobStopped)

# The Celery task that executes each kind of job (looked up by name: tasks import this module).
TASKS: dict[type[models.Model], str] = {
    BackupRun: "backups.execute_run",
    RestoreDrill: "backups.execute_drill",
    RestoreRun: "backups.execute_restore",
}


class AlreadyRunning(Exception):
    """The policy already has a queued or running job of this kind."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def reason_for(exc: BaseException) -> str:
    """A short reason safe to show: typed failures say what went wrong, anything else its type."""
    if isinstance(exc, KNOWN_FAILURES):
        return str(exc) or type(exc).__name__
    return f"unexpected error ({type(exc).__name__}); details are in the worker log"


def _requester(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _create(model: type[models.Model], busy: str, **fields: Any) -> Any:
    """A queued row with a fresh task id; AlreadyRunning when the policy has an active one."""
    try:
        with transaction.atomic():
            return model.objects.create(celery_task_id=str(uuid.uuid4()), **fields)
    except IntegrityError:
        raise AlreadyRunning(busy) from None


def enqueue(job: Any) -> None:
    """Send the job to a worker once the transaction that queued it commits."""
    name = TASKS[type(job)]
    transaction.on_commit(lambda: current_app.tasks[name].apply_async(args=[job.pk], task_id=job.celery_task_id))


def _claim(model: type[models.Model], pk: int, task_id: str | None, queued: str, running: str) -> bool:
    rows = model.objects.filter(pk=pk, state=queued)
    if task_id is not None:
        rows = rows.filter(celery_task_id=task_id)
    now = timezone.now()
    return rows.update(state=running, started_at=now, heartbeat_at=now, worker=worker_id()) == 1


# Backup runs -------------------------------------------------------------------------------


def queue_run(policy: Policy, *, trigger: str, user: Any = None) -> BackupRun:
    """Create a queued run (refused while another run of the policy is active)."""
    return _create(
        BackupRun,
        f"a backup of {policy.name} is already queued or running",
        policy=policy,
        destination=policy.destination,
        source_kind=policy.source.kind,
        compression=policy.compression,
        compression_level=policy.compression_level,
        trigger=trigger,
        requested_by=_requester(user),
    )


def claim_run(run_id: int, task_id: str | None = None) -> BackupRun | None:
    """Move a queued run to running; None if someone else has it (or the task is not its owner)."""
    if not _claim(BackupRun, run_id, task_id, RunState.QUEUED, RunState.RUNNING):
        return None
    return BackupRun.objects.select_related("policy__source", "policy__destination", "destination").get(pk=run_id)


# Restore drills ----------------------------------------------------------------------------


def latest_good(policy: Policy) -> BackupRun | None:
    return policy.runs.filter(state=RunState.GOOD).order_by("-started_at").first()


def queue_drill(
    policy: Policy,
    *,
    kind: str = DrillKind.DRILL,
    trigger: str,
    user: Any = None,
    run: BackupRun | None = None,
    target: str = "",
) -> RestoreDrill:
    """Create a queued drill of ``run`` (default: the latest good backup) into a scratch target."""
    run = run or latest_good(policy)
    if run is None:
        raise DrillRefused(f"{policy.name} has no good backup to restore yet.")
    if run.state != RunState.GOOD or run.policy_id != policy.pk:
        raise DrillRefused(f"run #{run.pk} is not a good backup of {policy.name}.")
    if kind != DrillKind.RESTORE:
        target = target or new_target_name(policy)
    check_target_name(policy, target)
    return _create(
        RestoreDrill,
        f"a drill or restore of {policy.name} is already queued or running",
        policy=policy,
        run=run,
        kind=kind,
        trigger=trigger,
        requested_by=_requester(user),
        target_name=target,
    )


def claim_drill(drill_id: int, task_id: str | None = None) -> RestoreDrill | None:
    """Move a queued drill to running; None if someone else has it (or the task is not its owner)."""
    if not _claim(RestoreDrill, drill_id, task_id, DrillState.QUEUED, DrillState.RUNNING):
        return None
    return RestoreDrill.objects.select_related("policy__source", "run__destination").get(pk=drill_id)


# Restores ----------------------------------------------------------------------------------


def queue_restore(
    policy: Policy,
    *,
    run: BackupRun | None,
    mode: str,
    target: str,
    target_env: str = "",
    forced: bool = False,
    trigger: str,
    user: Any = None,
) -> RestoreRun:
    """Create a queued restore after the checks that need no worker (raises RestoreRefused)."""
    check_restore(policy, run, mode=mode, target=target, target_env=target_env, forced=forced)
    job = _create(
        RestoreRun,
        f"a restore of {policy.name} is already queued or running",
        policy=policy,
        run=run,
        mode=mode,
        target=target,
        target_env=target_env if mode == RestoreMode.REPLACE else "",
        forced=forced and run is not None and run.state != RunState.GOOD,
        trigger=trigger,
        requested_by=_requester(user),
    )
    if job.forced:
        audit.record(
            AuditRecord.Action.ACTION, job, summary=f"restore anyway: run #{run.pk} is {run.state}, not verified good"
        )
    return job


def claim_restore(restore_id: int, task_id: str | None = None) -> RestoreRun | None:
    """Move a queued restore to running; None if someone else has it (or the task is not its owner)."""
    if not _claim(RestoreRun, restore_id, task_id, RestoreState.QUEUED, RestoreState.RUNNING):
        return None
    return RestoreRun.objects.select_related("policy__source", "run__destination").get(pk=restore_id)
