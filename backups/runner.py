"""Running one claimed backup: dump, verify, mark good, prune; or fail with the reason.

Queueing and claiming (one active run per policy, claimed only by the task whose id is on the
row) live in ``jobs``; this module carries a claimed run to good or failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone

from . import alerting
from .choices import ACTIVE_RUN_STATES, RunState
from .engines import engine_for
from .jobs import KNOWN_FAILURES, claim_run, queue_run, reason_for
from .journal import JobStopped, Journal
from .models import BackupRun, Policy
from .pipeline import AbortFailed, cleanup_ref, write_artifact
from .prune import prune_policy
from .verify import verify_artifact

log = logging.getLogger(__name__)


def artifact_key(run: BackupRun) -> str:
    slug = run.policy.slug
    stamp = run.started_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{slug}/{slug}-{stamp}-r{run.pk}.{run.policy.extension}"


def _expected_size(run: BackupRun, engine: Any) -> int | None:
    previous = run.policy.runs.filter(state=RunState.GOOD).order_by("-started_at").values_list("bytes_out", flat=True)
    if previous:
        return int(previous[0] * 1.25) + (1 << 20)
    return engine.expected_size()


def execute_run(run: BackupRun) -> BackupRun:
    """Carry a claimed (running) run to good or failed; never raises for a backup failure."""
    journal = Journal(run, active_states=ACTIVE_RUN_STATES, timeout_seconds=run.policy.timeout_minutes * 60)
    with journal.pulse():
        return _execute(run, journal)


def _execute(run: BackupRun, journal: Journal) -> BackupRun:
    policy = run.policy
    storage: Any = None
    committed = False
    try:
        engine = engine_for(policy.source)
        journal.scrub = engine.scrub
        storage = run.destination.storage()
        with journal.step("prepare", "Check tools and source") as step:
            versions = engine.versions()
            expected = _expected_size(run, engine)
            step["detail"] = "; ".join(v if v.startswith(k) else f"{k} {v}" for k, v in versions.items())
            BackupRun.objects.filter(pk=run.pk).update(tool_versions=versions)
        key = artifact_key(run)
        with journal.step("dump", f"Dump, {run.compression} and upload to {run.destination.name}") as step:
            writer = storage.open_writer(key, expected)
            BackupRun.objects.filter(pk=run.pk).update(location=key, cleanup=cleanup_ref(writer))
            result = write_artifact(
                engine,
                writer,
                run.compression,
                run.compression_level,
                log=journal.log,
                progress=lambda sink: journal.beat(bytes_in=sink.bytes_in, bytes_out=sink.bytes_out),
            )
            committed = True
            step["detail"] = f"{result.bytes_in} bytes in, {result.bytes_out} out, stored at {storage.describe(key)}"
        moved = BackupRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(
            state=RunState.VERIFYING,
            bytes_in=result.bytes_in,
            bytes_out=result.bytes_out,
            sha256=result.sha256,
            manifest=result.manifest,
            cleanup={},
        )
        if not moved:
            raise JobStopped("the run was failed by the reaper while this worker was still busy")
        run.refresh_from_db()
        with journal.step("verify", "Verify: re-read, checksum, decompress, restore check") as step:
            step["detail"] = verify_artifact(run, log_line=journal.log, progress=journal.beat)
        now = timezone.now()
        journal.log("backup is good")
        if not BackupRun.objects.filter(pk=run.pk, state=RunState.VERIFYING).update(
            state=RunState.GOOD, verified_at=now, finished_at=now, verify_count=1
        ):
            raise JobStopped("the run was failed by the reaper while this worker was still busy")
        journal.flush()
        alerting.run_succeeded(policy.slug, run.pk)
    except BaseException as exc:
        if not isinstance(exc, KNOWN_FAILURES):
            log.exception("backup run %s crashed", run.pk)
        _fail(run, journal, reason_for(exc), storage=storage, committed=committed, exc=exc)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: stop after recording the failure
        run.refresh_from_db()
        return run
    _prune_after(run, journal)
    run.refresh_from_db()
    return run


def _prune_after(run: BackupRun, journal: Journal) -> None:
    try:
        with journal.step("prune", "Apply retention") as step:
            plan = prune_policy(run.policy)
            step["detail"] = f"kept {len(plan.keep)}, deleted {len(plan.deleted)}" + (
                f", {len(plan.errors)} could not be deleted" if plan.errors else ""
            )
    except Exception:
        log.exception("prune after run %s failed", run.pk)  # the backup itself is good
    journal.flush()


def _fail(run: BackupRun, journal: Journal, reason: str, *, storage: Any, committed: bool, exc: BaseException) -> None:
    cleanup: dict[str, Any] = {}
    if isinstance(exc, AbortFailed):
        cleanup = exc.ref
    location = BackupRun.objects.filter(pk=run.pk).values_list("location", flat=True).first() or ""
    if committed and storage is not None and location:
        try:
            storage.delete(location)
            journal.log("removed the stored object")
        except Exception as del_exc:  # noqa: BLE001
            cleanup = {"partial": location}
            journal.log(f"could not remove the stored object ({del_exc}); the reaper will retry")
    journal.log(f"FAILED: {reason}")
    moved = BackupRun.objects.filter(pk=run.pk, state__in=ACTIVE_RUN_STATES).update(
        state=RunState.FAILED, finished_at=timezone.now(), error=reason[:500], cleanup=cleanup
    )
    if not moved and cleanup:
        BackupRun.objects.filter(pk=run.pk).update(cleanup=cleanup)
    journal.flush()
    if moved:
        alerting.run_failed(run.policy.slug, run.pk, reason, run.get_absolute_url())


def run_now(policy: Policy, *, trigger: str, user: Any = None) -> BackupRun:
    """Queue, claim and execute a run in this process (the ``backup run`` command)."""
    run = queue_run(policy, trigger=trigger, user=user)
    claimed = claim_run(run.pk)
    assert claimed is not None
    return execute_run(claimed)
