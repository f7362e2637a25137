"""Verification: proving a stored backup restores.

The object is re-read by streaming and hashed, fully decompressed (end-of-stream and frame
checksums checked), and handed to the engine: PostgreSQL reads every block with
``pg_restore -f /dev/null``, SQLite runs ``PRAGMA integrity_check`` on a restored copy, media
re-hashes every file. A kept backup that fails re-verification is removed and alerted on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from . import alerting
from .choices import RunState
from .engines import verifier_for
from .engines.base import EngineError, VerifyFailed
from .models import BackupRun, Policy
from .pipeline import read_artifact
from .storage import StorageError

log = logging.getLogger(__name__)


def verify_artifact(
    run: BackupRun, *, log_line: Callable[[str], None] = lambda _m: None, progress: Callable[[], None] | None = None
) -> str:
    """Raise VerifyFailed unless ``run``'s stored object proves good; returns a one-line result."""
    if not run.location or not run.sha256:
        raise VerifyFailed("the run has no stored object to verify")
    try:
        storage = run.destination.storage()
    except Exception as exc:  # noqa: BLE001 - a missing credential, say
        raise VerifyFailed(str(exc)) from None
    chunks = read_artifact(
        storage,
        run.location,
        run.compression,
        sha256=run.sha256,
        bytes_out=run.bytes_out,
        bytes_in=run.bytes_in,
        progress=progress,
    )
    detail = verifier_for(run).verify(chunks, run.manifest, log_line)
    return f"SHA-256 matches, stream decompresses completely, {detail}"


@dataclass
class ReverifyResult:
    run_id: int
    ok: bool
    detail: str


def reverify_run(run: BackupRun) -> ReverifyResult:
    """Re-verify one kept backup; on failure remove it, fail the run and raise an alert."""
    try:
        detail = verify_artifact(run)
    except (EngineError, StorageError) as exc:
        return _reverify_failed(run, str(exc))
    except Exception as exc:
        log.exception("re-verification of run %s crashed", run.pk)
        return _reverify_failed(run, f"unexpected error ({type(exc).__name__})")
    BackupRun.objects.filter(pk=run.pk, state=RunState.GOOD).update(
        verified_at=timezone.now(), verify_count=F("verify_count") + 1
    )
    return ReverifyResult(run.pk, True, detail)


def _reverify_failed(run: BackupRun, reason: str) -> ReverifyResult:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    moved = BackupRun.objects.filter(pk=run.pk, state=RunState.GOOD).update(
        state=RunState.FAILED, error=f"re-verification failed: {reason}"[:500], finished_at=timezone.now()
    )
    if not moved:
        # Pruned (or otherwise changed) while we read it: not a corruption.
        return ReverifyResult(run.pk, True, "no longer kept; skipped")
    BackupRun.objects.filter(pk=run.pk).update(log=f"{run.log}\n{stamp} re-verification FAILED: {reason}".strip())
    try:
        run.destination.storage().delete(run.location)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not remove corrupt backup of run %s: %s", run.pk, exc)
    alerting.verify_failed(run.policy.slug, run.pk, reason, run.get_absolute_url())
    return ReverifyResult(run.pk, False, reason)


def reverify_policy(policy: Policy) -> list[ReverifyResult]:
    """Re-verify every kept backup of ``policy``; resolves the alert when all pass."""
    results = [reverify_run(run) for run in policy.runs.filter(state=RunState.GOOD).order_by("-started_at")]
    if results and all(r.ok for r in results):
        alerting.verify_succeeded(policy.slug, len(results))
    return results
