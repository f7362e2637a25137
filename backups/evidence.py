"""Evidence providers of backups (last night's runs, the last verification, the latest drill), by name.

Registered in ``BackupsConfig.ready()`` through ``monitoring.public.register_evidence``; the
maintenance checklist reads them by name and never imports backups. Shapes as in
``monitoring.public``: ``ok``, ``summary``, ``facts``, ``fresh`` plus specific keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from monitoring.public import register_evidence
from opsportal.models import JobRun
from opsportal.web import iso

from .choices import DrillKind, DrillState, RunState
from .models import BackupRun, Policy, RestoreDrill


def backup_runs(*, now: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    """Runs of the last 24 hours per enabled policy: every policy should have a good one."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=24)
    runs = list(BackupRun.objects.select_related("policy").filter(created_at__gte=since).order_by("-created_at"))
    policies = list(Policy.objects.filter(enabled=True).values_list("slug", "name"))
    good = {r.policy.slug for r in runs if r.state == RunState.GOOD}
    failed = [r for r in runs if r.state == RunState.FAILED]
    missing = [name for slug, name in policies if slug not in good]
    facts = [[f"#{r.pk} {r.policy.name}", f"{r.state} at {r.created_at:%Y-%m-%d %H:%M}"] for r in runs[:10]]
    if missing:
        facts.append(["No good run", ", ".join(missing)])
    return {
        "ok": None if not policies else not missing and not failed,
        "summary": f"{len(runs)} runs in 24 h: {len(good)} of {len(policies)} policies good, {len(failed)} failed",
        "facts": facts,
        "runs": [{"id": r.pk, "policy": r.policy.slug, "state": r.state, "at": iso(r.created_at)} for r in runs[:20]],
        "fresh": bool(runs),
    }


def backup_verification(*, now: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    """The last re-verification job and the newest verified backup."""
    now = now or timezone.now()
    job = JobRun.objects.filter(kind="backups: re-verify").order_by("-started_at").first()
    newest = BackupRun.objects.filter(verified_at__isnull=False).order_by("-verified_at").first()
    facts = []
    if job:
        facts.append(["Last re-verify", f"{job.state} at {job.started_at:%Y-%m-%d %H:%M} {job.summary}".strip()])
    if newest:
        facts.append(["Newest verified backup", f"#{newest.pk} at {newest.verified_at:%Y-%m-%d %H:%M}"])
    latest = max(
        [t for t in (job.started_at if job else None, newest.verified_at if newest else None) if t], default=None
    )
    if latest is None:
        return {"ok": None, "summary": "no verification recorded", "facts": [], "fresh": False}
    ok = job.state != JobRun.State.FAILED if job else True
    return {
        "ok": ok,
        "summary": f"last verification {latest:%Y-%m-%d %H:%M}" + ("" if ok else " (failed)"),
        "facts": facts,
        "as_of": iso(latest),
        "fresh": now - latest <= dt.timedelta(days=8),
    }


def backup_drill(*, now: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    """The latest finished restore drill (passed or failed) with its policy."""
    now = now or timezone.now()
    drill = (
        RestoreDrill.objects.select_related("policy")
        .filter(kind=DrillKind.DRILL, state__in=[DrillState.PASSED, DrillState.FAILED])
        .order_by("-finished_at", "-pk")
        .first()
    )
    if drill is None or drill.finished_at is None:
        return {"ok": None, "summary": "no restore drill yet", "facts": [], "fresh": False}
    return {
        "ok": drill.state == DrillState.PASSED,
        "summary": f"drill #{drill.pk} of {drill.policy.name} {drill.state} at {drill.finished_at:%Y-%m-%d %H:%M}",
        "facts": [["Drill", f"#{drill.pk}"], ["Policy", drill.policy.name], ["Result", drill.state]]
        + ([["Error", drill.error]] if drill.error else []),
        "drill_id": drill.pk,
        "url": drill.get_absolute_url(),
        "as_of": iso(drill.finished_at),
        "fresh": now - drill.finished_at <= dt.timedelta(days=31),
    }


def register() -> None:
    register_evidence("backup_runs", backup_runs)
    register_evidence("backup_verification", backup_verification)
    register_evidence("backup_drill", backup_drill)
