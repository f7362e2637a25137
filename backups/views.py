"""Console pages of the backups app: status per policy, runs, drills, actions and configuration.

Viewers read every page (no secret is stored, so none can be shown); admins run backups,
drills, restores and prunes and manage sources, destinations and policies. Run and drill pages
refresh themselves with htmx while the job is active.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from monitoring.alerts.public import Thresholds
from opsportal import audit
from opsportal.access import console_view
from opsportal.crud import object_views
from opsportal.models import AuditRecord

from . import conf
from .choices import ACTIVE_RUN_STATES, DrillKind, RunState, Trigger
from .forms import DestinationForm, PolicyForm, RealRestoreForm, RestoreForm, SourceForm
from .jobs import AlreadyRunning, enqueue, queue_drill, queue_restore, queue_run
from .metrics import age_badge, age_limits
from .models import BackupRun, Destination, Policy, RestoreDrill, RestoreRun, Source
from .prune import apply_prune, good_runs, plan_prune, plan_retention
from .svg import retention_timeline, step_bars
from .targets import DrillRefused, RestoreRefused
from .tasks import reverify_policy_task

VIEW = "backups.view_backuprun"


@dataclass
class PolicyStatus:
    """What the console shows for one policy."""

    policy: Policy
    last_good: BackupRun | None
    last_run: BackupRun | None
    last_drill: RestoreDrill | None
    age_hours: float | None
    badge: str
    badge_label: str
    timeline: str
    keep: list[tuple[BackupRun, list[str]]]
    delete: list[BackupRun]

    @property
    def active(self) -> bool:
        return self.last_run is not None and self.last_run.state in ACTIVE_RUN_STATES


def with_status(policies: QuerySet[Policy]) -> QuerySet[Policy]:
    """``policies`` with what ``status_for`` reads, fetched in a fixed number of queries."""
    return policies.select_related("source", "destination").prefetch_related(
        Prefetch("runs", queryset=good_runs(), to_attr="good_runs"),
        Prefetch("runs", queryset=BackupRun.objects.all()[:1], to_attr="latest_runs"),
        Prefetch("drills", queryset=RestoreDrill.objects.filter(kind=DrillKind.DRILL)[:1], to_attr="latest_drills"),
    )


def status_for(
    policy: Policy, limits: Thresholds | None, *, compact: bool = False, now: dt.datetime | None = None
) -> PolicyStatus:
    """The status of a policy fetched through ``with_status``; ``limits`` from ``age_limits()``."""
    now = now or timezone.now()
    good: list[BackupRun] = policy.good_runs  # type: ignore[attr-defined]
    last_good = good[0] if good else None
    age = last_good.age_hours(now) if last_good else None
    badge, label = age_badge(age, limits)
    plan = plan_retention(policy, good)
    latest_runs: list[BackupRun] = policy.latest_runs  # type: ignore[attr-defined]
    latest_drills: list[RestoreDrill] = policy.latest_drills  # type: ignore[attr-defined]
    return PolicyStatus(
        policy=policy,
        last_good=last_good,
        last_run=latest_runs[0] if latest_runs else None,
        last_drill=latest_drills[0] if latest_drills else None,
        age_hours=age,
        badge=badge,
        badge_label=label,
        timeline=retention_timeline(plan.keep, plan.delete, now=now, width=860 if compact else 760, compact=compact),
        keep=plan.keep,
        delete=plan.delete,
    )


def _partial(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# Pages --------------------------------------------------------------------------------------


@console_view(VIEW)
def index(request: HttpRequest) -> HttpResponse:
    limits = age_limits()
    statuses = [status_for(p, limits, compact=True) for p in with_status(Policy.objects.all())]
    context = {
        "statuses": statuses,
        "recent_runs": BackupRun.objects.select_related("policy", "destination")[:12],
        "recent_drills": RestoreDrill.objects.select_related("policy")[:6],
        "any_active": any(s.active for s in statuses)
        or RestoreDrill.objects.filter(state__in=["queued", "running"]).exists(),
        "drill_prefix": conf.BACKUP_DRILL_PREFIX.get(),
    }
    template = "backups/_index_body.html" if _partial(request) else "backups/index.html"
    return render(request, template, context)


@console_view(VIEW)
def policy_detail(request: HttpRequest, slug: str) -> HttpResponse:
    policy = get_object_or_404(with_status(Policy.objects.all()), slug=slug)
    runs = Paginator(policy.runs.select_related("destination"), 30).get_page(request.GET.get("page"))
    upcoming, moment = [], timezone.now()
    for _ in range(3):
        moment = policy.next_after(moment)
        upcoming.append(moment)
    return render(
        request,
        "backups/policy.html",
        {
            "s": status_for(policy, age_limits()),
            "policy": policy,
            "runs": runs,
            "drills": policy.drills.all()[:20],
            "restores": policy.restores.select_related("run")[:20],
            "upcoming": upcoming,
            "same_disk": policy.same_filesystem(),
        },
    )


@console_view(VIEW)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BackupRun.objects.select_related("policy__source", "destination", "requested_by"), pk=pk)
    location = ""
    if run.location:
        try:
            location = run.destination.storage().describe(run.location)
        except Exception:  # noqa: BLE001 - a missing credential must not hide the page
            location = f"{run.destination.where}{run.location}"
    tables = sorted((run.manifest or {}).get("tables", {}).items())
    context = {
        "run": run,
        "location": location,
        "tables": tables,
        "bars": step_bars(run.steps),
        "drills": run.drills.all()[:10],
        "ratio_pct": round(run.ratio * 100, 1) if run.ratio else None,
    }
    return render(request, "backups/_run_body.html" if _partial(request) else "backups/run.html", context)


@console_view(VIEW)
def drill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    drill = get_object_or_404(RestoreDrill.objects.select_related("policy__source", "run", "requested_by"), pk=pk)
    context = {"drill": drill, "bars": step_bars(drill.steps)}
    return render(request, "backups/_drill_body.html" if _partial(request) else "backups/drill.html", context)


@console_view(VIEW)
def drill_report(request: HttpRequest, pk: int) -> HttpResponse:
    drill = get_object_or_404(
        RestoreDrill.objects.select_related("policy__source", "policy__destination", "run", "requested_by"), pk=pk
    )
    return render(request, "backups/drill_report.html", {"drill": drill, "now": timezone.now()})


@console_view(VIEW)
def setup(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "backups/setup.html",
        {
            "sources": Source.objects.all(),
            "destinations": Destination.objects.all(),
            "policies": Policy.objects.select_related("source", "destination"),
        },
    )


# Actions ------------------------------------------------------------------------------------


@console_view("backups.run_backup", methods=("POST",))
def run_now(request: HttpRequest, slug: str) -> HttpResponse:
    policy = get_object_or_404(Policy.objects.select_related("source", "destination"), slug=slug)
    try:
        with transaction.atomic():
            run = queue_run(policy, trigger=Trigger.MANUAL, user=request.user)
            enqueue(run)
    except AlreadyRunning as exc:
        messages.error(request, str(exc))
        return redirect(policy)
    messages.success(request, f"Backup of {policy.name} queued; this page follows it.")
    return redirect(run)


@console_view("backups.run_backup", methods=("POST",))
def verify_now(request: HttpRequest, slug: str) -> HttpResponse:
    policy = get_object_or_404(Policy, slug=slug)
    count = policy.runs.filter(state=RunState.GOOD).count()
    transaction.on_commit(lambda: reverify_policy_task.delay(policy.pk))
    audit.record(AuditRecord.Action.ACTION, policy, summary=f"re-verification of {count} kept backups requested")
    messages.success(request, f"Re-verification of {count} kept backups queued; failures raise an alert.")
    return redirect(policy)


@console_view("backups.run_drill", methods=("POST",))
def drill_now(request: HttpRequest, slug: str) -> HttpResponse:
    policy = get_object_or_404(Policy.objects.select_related("source"), slug=slug)
    run = None
    if request.POST.get("run"):
        run = get_object_or_404(BackupRun, pk=request.POST["run"], policy=policy)
    try:
        with transaction.atomic():
            drill = queue_drill(policy, trigger=Trigger.MANUAL, user=request.user, run=run)
            enqueue(drill)
    except (DrillRefused, AlreadyRunning) as exc:
        messages.error(request, str(exc))
        return redirect(policy)
    messages.success(request, f"Restore drill of {policy.name} queued into {drill.target_name}.")
    return redirect(drill)


@console_view("backups.restore_backup", methods=("GET", "HEAD", "POST"))
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BackupRun.objects.select_related("policy__source"), pk=pk)
    if run.state != RunState.GOOD:
        messages.error(request, f"Run #{run.pk} is not a good backup; only verified backups can be restored.")
        return redirect(run)
    form = RestoreForm(request.POST or None, policy=run.policy)
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["target"]
        try:
            with transaction.atomic():
                drill = queue_drill(
                    run.policy,
                    kind=DrillKind.RESTORE,
                    trigger=Trigger.MANUAL,
                    user=request.user,
                    run=run,
                    target=target,
                )
                enqueue(drill)
        except (DrillRefused, AlreadyRunning) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Restore of run #{run.pk} into {target} queued.")
            return redirect(drill)
    return render(request, "backups/restore.html", {"run": run, "form": form, "prefix": conf.BACKUP_DRILL_PREFIX.get()})


@console_view("backups.restore_backup", methods=("GET", "HEAD", "POST"))
def restore_to(request: HttpRequest, pk: int) -> HttpResponse:
    """Restore a backup for real (a new database, an existing one replaced, or a path)."""
    run = get_object_or_404(BackupRun.objects.select_related("policy__source", "destination"), pk=pk)
    form = RealRestoreForm(request.POST or None, run=run)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                job = queue_restore(
                    run.policy,
                    run=run,
                    mode=data["mode"],
                    target=data["target"],
                    target_env=data.get("target_env", ""),
                    forced=bool(data.get("restore_anyway")),
                    trigger=Trigger.MANUAL,
                    user=request.user,
                )
                enqueue(job)
        except (RestoreRefused, AlreadyRunning) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Restore of run #{run.pk} into {job.target} queued; this page follows it.")
            return redirect(job)
    restores = run.restores.all()[:10]
    return render(request, "backups/restore_to.html", {"run": run, "form": form, "restores": restores})


@console_view(VIEW)
def restore_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(RestoreRun.objects.select_related("policy__source", "run", "requested_by"), pk=pk)
    context = {"job": job, "bars": step_bars(job.steps)}
    return render(request, "backups/_restore_body.html" if _partial(request) else "backups/restore_run.html", context)


@console_view("backups.prune_backups", methods=("GET", "HEAD", "POST"))
def prune(request: HttpRequest, slug: str) -> HttpResponse:
    policy = get_object_or_404(Policy.objects.select_related("source", "destination"), slug=slug)
    plan = plan_prune(policy)
    if request.method == "POST":
        done = apply_prune(plan)
        text = f"Pruned {len(done.deleted)} backups and {len(done.expired_failed)} old failed runs of {policy.name}."
        if done.errors:
            messages.warning(request, f"{text} Not deleted: {'; '.join(done.errors)[:300]}")
        else:
            messages.success(request, text)
        return redirect(policy)
    timeline = retention_timeline(plan.keep, plan.delete)
    return render(request, "backups/prune.html", {"policy": policy, "plan": plan, "timeline": timeline})


# Configuration ------------------------------------------------------------------------------


@console_view("backups.add_policy", methods=("POST",))
def protect_portal(request: HttpRequest) -> HttpResponse:
    """One click for the zero-setup case: back the portal's own database up into its data folder."""
    from .setup import protect_portal as create

    policy, created = create()
    if created:
        messages.success(request, f"{policy.name} created: the portal's own database is backed up nightly.")
    else:
        messages.info(request, f"{policy.name} already exists.")
    return redirect(policy)


def _in_use(obj: Source | Destination) -> str | None:
    used = ", ".join(p.name for p in obj.policies.all())
    return f"{type(obj).__name__} {obj.name} is used by: {used}." if used else None


def _policy_in_use(policy: Policy) -> str | None:
    kept = policy.runs.filter(state__in=[RunState.GOOD, *ACTIVE_RUN_STATES]).count()
    if not kept:
        return None
    return (
        f"Policy {policy.name} still has {kept} kept or running backups; disable it instead, "
        "so its backups stay restorable and retention keeps working."
    )


_SIMPLE = {
    "template": "backups/form.html",
    "deleted": "backups:setup",
    "in_use": "is still used by backups in the catalog",
}
source_new, source_edit, source_delete = object_views(
    Source, SourceForm, kind="Source", saved="backups:setup", refuse=_in_use, **_SIMPLE
)
destination_new, destination_edit, destination_delete = object_views(
    Destination, DestinationForm, kind="Destination", saved="backups:setup", refuse=_in_use, **_SIMPLE
)
policy_new, policy_edit, policy_delete = object_views(
    Policy, PolicyForm, kind="Policy", saved=lambda p: p.get_absolute_url(), refuse=_policy_in_use, **_SIMPLE
)
