"""Celery tasks of the backups app: thin wrappers around the domain modules."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="backups.run_due", ignore_result=True)
def run_due_task() -> dict[str, Any]:
    from .dispatch import run_due

    result = run_due()
    return {"queued": result.queued, "skipped": result.skipped}


@shared_task(name="backups.execute_run", bind=True, ignore_result=True, acks_late=True)
def execute_run_task(self: Any, run_id: int) -> str:
    """Run one queued backup; only the task whose id is stored on the row may claim it."""
    from .runner import claim_run, execute_run

    run = claim_run(run_id, task_id=self.request.id)
    if run is None:
        return "not claimed (already taken, finished, or not this task's run)"
    return execute_run(run).state


@shared_task(name="backups.execute_drill", bind=True, ignore_result=True, acks_late=True)
def execute_drill_task(self: Any, drill_id: int) -> str:
    from .drills import claim_drill, execute_drill

    drill = claim_drill(drill_id, task_id=self.request.id)
    if drill is None:
        return "not claimed"
    return execute_drill(drill).state


@shared_task(name="backups.reverify", ignore_result=True)
def reverify_task() -> dict[str, Any]:
    from .dispatch import reverify_all

    return {slug: [r.ok for r in results] for slug, results in reverify_all().items()}


@shared_task(name="backups.drill_all", ignore_result=True)
def drill_all_task() -> dict[str, str]:
    from .dispatch import drill_all

    return drill_all()


@shared_task(name="backups.reap", ignore_result=True)
def reap_task() -> dict[str, list[int]]:
    from .dispatch import reap_stale

    result = reap_stale()
    return {"runs": result.runs, "drills": result.drills, "cleaned": result.cleaned}


@shared_task(name="backups.reverify_policy", ignore_result=True)
def reverify_policy_task(policy_id: int) -> list[bool]:
    """Re-verify the kept backups of one policy (the console's "verify now")."""
    from .models import Policy
    from .verify import reverify_policy

    policy = Policy.objects.filter(pk=policy_id).first()
    return [] if policy is None else [r.ok for r in reverify_policy(policy)]
