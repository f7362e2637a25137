"""Database care page (Admins): one database at a time, PgHero's views; the VACUUM ANALYZE action."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from opsportal.access import console_view

from . import conf, dbcare, vacuum
from .forms_security import VacuumForm
from .models import VacuumRun
from .tasks_security import vacuum_task


@console_view("maintenance.view_databasecare")
def database_care(request: HttpRequest) -> HttpResponse:
    targets = vacuum.targets()
    chosen = next((t for t in targets if t.slug == request.GET.get("db")), targets[0] if targets else None)
    report = dbcare.inspect(chosen) if chosen else None
    return render(
        request,
        "maintenance/security/dbcare.html",
        {
            "targets": targets,
            "missing": vacuum.missing_sources(),
            "chosen": chosen,
            "report": report,
            "runs": VacuumRun.objects.select_related("requested_by")[:15],
            "slow_ms": conf.DB_CARE_SLOW_MS.get(),
            "timeout_ms": conf.DB_CARE_STATEMENT_TIMEOUT_MS.get(),
        },
    )


@console_view("maintenance.add_vacuumrun", methods=("POST",))
def vacuum_run(request: HttpRequest) -> HttpResponse:
    form = VacuumForm(request.POST)
    target = vacuum.target_named(form.data.get("target", "")) if form.is_valid() else None
    if target is None:
        messages.error(request, "target: choose one of the databases listed")
        return redirect("maintenance:database_care")
    run = vacuum.request_vacuum(target, form.cleaned_data["table"], request.user)
    transaction.on_commit(lambda: vacuum_task.apply_async(args=[run.pk], task_id=run.task_id))
    messages.success(request, f"VACUUM ANALYZE of {run.table or 'all tables'} queued (run #{run.pk}).")
    return redirect(f"{request.path.rsplit('vacuum/', 1)[0]}?db={target.slug}")
