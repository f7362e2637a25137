"""Pruning: apply a policy's retention to its good backups, and remove old failed rows.

Only good (verified) runs count for retention. The newest good backup is never deleted. A run
is marked pruned with a compare-and-set before its object is deleted, so a re-verification
running at the same time never mistakes a pruned object for a corrupt one. Every prune records
what it deleted and why each kept backup was kept; a dry run only reports.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from opsportal import audit
from opsportal.models import AuditRecord

from . import conf
from .choices import KeepReason, RunState
from .models import BackupRun, Policy
from .retention import explain_retention

log = logging.getLogger(__name__)


@dataclass
class PrunePlan:
    policy: Policy
    keep: list[tuple[BackupRun, list[str]]] = field(default_factory=list)
    delete: list[BackupRun] = field(default_factory=list)
    expired_failed: list[BackupRun] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.policy.slug}: keep {len(self.keep)}, delete {len(self.delete)} backups"
            f" and {len(self.expired_failed)} old failed rows"
        )


def good_runs() -> QuerySet[BackupRun]:
    """The runs retention counts, newest first (also prefetched for the index page)."""
    return BackupRun.objects.filter(state=RunState.GOOD, started_at__isnull=False).order_by("-started_at", "-pk")


def plan_retention(policy: Policy, good: list[BackupRun]) -> PrunePlan:
    """Which of ``good`` (from ``good_runs()``) retention keeps, with reasons, and which it deletes."""
    reasons = explain_retention(
        [r.started_at for r in good], daily=policy.keep_daily, weekly=policy.keep_weekly, monthly=policy.keep_monthly
    )
    plan = PrunePlan(policy)
    seen: set[dt.datetime] = set()
    for index, run in enumerate(good):
        # Two runs at the same instant share one slot: the newer row holds it.
        why = [] if run.started_at in seen else list(reasons.get(run.started_at, []))
        seen.add(run.started_at)
        if index == 0 and not why:
            why = [KeepReason.NEWEST.value]  # the newest good backup is never deleted
        if why:
            plan.keep.append((run, why))
        else:
            plan.delete.append(run)
    return plan


def plan_prune(policy: Policy, now: dt.datetime | None = None) -> PrunePlan:
    """What retention keeps (with reasons) and deletes for ``policy``; changes nothing."""
    now = now or timezone.now()
    plan = plan_retention(policy, list(good_runs().filter(policy=policy)))
    cutoff = now - dt.timedelta(days=conf.BACKUP_FAILED_KEEP_DAYS.get())
    plan.expired_failed = list(policy.runs.filter(state=RunState.FAILED, created_at__lt=cutoff, cleanup={}))
    return plan


def apply_prune(plan: PrunePlan, *, dry_run: bool = False) -> PrunePlan:
    """Carry out ``plan`` (unless ``dry_run``); records reasons on kept runs and an audit entry."""
    if dry_run:
        return plan
    now = timezone.now()
    for run, why in plan.keep:
        if run.kept_reasons != why:
            BackupRun.objects.filter(pk=run.pk).update(kept_reasons=why)
    storages: dict[int, object] = {}
    for run in plan.delete:
        moved = BackupRun.objects.filter(pk=run.pk, state=RunState.GOOD).update(
            state=RunState.PRUNED, pruned_at=now, kept_reasons=[]
        )
        if not moved:
            continue
        try:
            storage = storages.setdefault(run.destination_id, run.destination.storage())
            storage.delete(run.location)  # type: ignore[attr-defined]
            plan.deleted.append(run.pk)
        except Exception as exc:  # noqa: BLE001 - one bad object must not stop the rest
            # Keep the catalog truthful: the object is still there, so the run stays good.
            BackupRun.objects.filter(pk=run.pk, state=RunState.PRUNED).update(state=RunState.GOOD, pruned_at=None)
            plan.errors.append(f"run #{run.pk}: {exc}")
            log.warning("prune: could not delete run %s: %s", run.pk, exc)
    expired = [r.pk for r in plan.expired_failed]
    for run in plan.expired_failed:
        run.delete()
    if plan.deleted or expired or plan.errors:
        audit.record(
            AuditRecord.Action.ACTION,
            plan.policy,
            summary=f"pruned {len(plan.deleted)} backups and {len(expired)} old failed runs",
            changes={
                "deleted": plan.deleted,
                "failed_rows_removed": expired,
                "kept": {str(r.pk): why for r, why in plan.keep},
                "errors": plan.errors,
            },
        )
    return plan


def prune_policy(policy: Policy, *, dry_run: bool = False) -> PrunePlan:
    return apply_prune(plan_prune(policy), dry_run=dry_run)
