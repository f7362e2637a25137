"""Celery tasks of the backups app: thin wrappers around the domain modules.

Tasks import the lifecycle (``jobs``) and the executors; nothing imports this module (jobs
are sent to these tasks by name).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from opsportal.jobs import record_job

from .dispatch import drill_all, reap_stale, reverify_all, run_due
from .drills import execute_drill
from .jobs import claim_drill, claim_restore, claim_run
from .models import Policy
from .restores import execute_restore
from .runner import execute_run
from .verify import reverify_policy


@shared_task(name="backups.run_due", ignore_result=True, bind=True)
def run_due_task(self: Any) -> dict[str, Any]:
    with record_job("backups: run due", task_id=self.request.id or "") as job:
        result = run_due()
        job.stats = {"queued": result.queued, "skipped": result.skipped}
    return job.stats


@shared_task(name="backups.execute_run", bind=True, ignore_result=True, acks_late=True)
def execute_run_task(self: Any, run_id: int) -> str:
    """Run one queued backup; only the task whose id is stored on the row may claim it."""
    run = claim_run(run_id, task_id=self.request.id)
    if run is None:
        return "not claimed (already taken, finished, or not this task's run)"
    return execute_run(run).state


@shared_task(name="backups.execute_drill", bind=True, ignore_result=True, acks_late=True)
def execute_drill_task(self: Any, drill_id: int) -> str:
    drill = claim_drill(drill_id, task_id=self.request.id)
    if drill is None:
        return "not claimed"
    return execute_drill(drill).state


@shared_task(name="backups.execute_restore", bind=True, ignore_result=True, acks_late=True)
def execute_restore_task(self: Any, restore_id: int) -> str:
    job = claim_restore(restore_id, task_id=self.request.id)
    if job is None:
        return "not claimed"
    return execute_restore(job).state


def _verified(job: Any, results: dict[str, list[bool]]) -> dict[str, list[bool]]:
    checked = sum(len(oks) for oks in results.values())
    failed = sum(oks.count(False) for oks in results.values())
    job.stats = {"checked": checked, "failed": failed, "policies": results}
    job.summary = f"re-verified {checked} kept backups, {failed} failed"
    return results


@shared_task(name="backups.reverify", ignore_result=True, bind=True)
def reverify_task(self: Any) -> dict[str, list[bool]]:
    with record_job("backups: re-verify", task_id=self.request.id or "") as job:
        return _verified(job, {slug: [r.ok for r in results] for slug, results in reverify_all().items()})


@shared_task(name="backups.drill_all", ignore_result=True, bind=True)
def drill_all_task(self: Any) -> dict[str, str]:
    with record_job("backups: drill all", task_id=self.request.id or "") as job:
        job.stats = drill_all()
    return job.stats


@shared_task(name="backups.reap", ignore_result=True, bind=True)
def reap_task(self: Any) -> dict[str, list[int]]:
    with record_job("backups: reap", task_id=self.request.id or "") as job:
        result = reap_stale()
        job.stats = {"runs": result.runs, "drills": result.drills, "cleaned": result.cleaned}
        if result.restores:
            job.summary = f"failed {len(result.restores)} restores whose worker stopped reporting"
    return job.stats


@shared_task(name="backups.reverify_policy", ignore_result=True, bind=True)
def reverify_policy_task(self: Any, policy_id: int) -> list[bool]:
    """Re-verify the kept backups of one policy (the console's "verify now")."""
    with record_job("backups: re-verify", trigger="console", task_id=self.request.id or "") as job:
        policy = Policy.objects.filter(pk=policy_id).first()
        if policy is None:
            job.summary = "the policy no longer exists"
            return []
        return _verified(job, {policy.slug: [r.ok for r in reverify_policy(policy)]})[policy.slug]
