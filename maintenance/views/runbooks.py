"""Runbook pages: the list, one runbook (rendered, versions, start), editing, version diffs, executions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import slugify

from monitoring.public import evidence
from opsportal.access import console_view, has_perm

from ..choices import ExecutionState, StepState
from ..forms.runbooks import FinishForm, RunbookForm, StepDoneForm, StepSkipForm
from ..markdown import diff_lines
from ..markdown import render as render_markdown
from ..models import ExecutionStep, Runbook, RunbookExecution, RunbookVersion
from ..runbooks import (
    StepRefused,
    close_incident,
    complete_step,
    finish_execution,
    reopen_step,
    save_version,
    skip_step,
    start_execution,
)

VIEW = "maintenance.view_runbook"
EXECUTE = "maintenance.execute_runbook"


def _alert_from(request: HttpRequest, source: Any) -> dict[str, Any] | None:
    raw = source.get("alert", "")
    if not raw:
        return None
    try:
        alert_id = int(raw)
    except ValueError:
        return None
    found = evidence("alert", alert_id=alert_id)
    return found if found and found.get("found") else None


@console_view(VIEW)
def runbooks(request: HttpRequest) -> HttpResponse:
    books = (
        Runbook.objects.select_related("current")
        .annotate(
            runs=Count("executions"), running=Count("executions", filter=Q(executions__state=ExecutionState.RUNNING))
        )
        .order_by("position", "title")
    )
    groups: dict[str, list[Runbook]] = {}
    for book in books:
        groups.setdefault(book.get_kind_display(), []).append(book)
    recent = RunbookExecution.objects.select_related("runbook", "version", "incident")[:10]
    return render(
        request,
        "maintenance/runbooks.html",
        {"groups": groups, "recent": recent, "can_edit": has_perm(request, "maintenance.add_runbook")},
    )


@console_view(VIEW)
def runbook_open(request: HttpRequest) -> HttpResponse:
    """From an alert's runbook link: the runbook named by ``title``, with the alert preselected."""
    title = request.GET.get("title", "")
    book = Runbook.objects.filter(Q(title__iexact=title) | Q(slug=slugify(title))).first()
    if book is None:
        # The link came from an alert or metric naming a runbook nobody has written yet.
        messages.warning(request, f"No runbook is titled “{title[:100]}” yet.")
        return redirect("maintenance:runbooks")
    url = reverse("maintenance:runbook", kwargs={"slug": book.slug})
    alert = request.GET.get("alert", "")
    return redirect(f"{url}?{urlencode({'alert': alert})}" if alert.isdigit() else url)


@console_view(VIEW)
def runbook(request: HttpRequest, slug: str) -> HttpResponse:
    book = get_object_or_404(Runbook.objects.select_related("current"), slug=slug)
    versions = book.versions.all()[:30]
    return render(
        request,
        "maintenance/runbook.html",
        {
            "book": book,
            "version": book.current,
            "html": render_markdown(book.current.body if book.current else ""),
            "versions": versions,
            "alert": _alert_from(request, request.GET),
            "can_execute": has_perm(request, EXECUTE),
            "can_edit": has_perm(request, "maintenance.change_runbook"),
            "executions": book.executions.select_related("version", "incident")[:10],
        },
    )


@console_view(VIEW)
def runbook_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    book = get_object_or_404(Runbook, slug=slug)
    version = get_object_or_404(RunbookVersion, runbook=book, number=number)
    against_n = request.GET.get("against", "")
    if against_n.isdigit():
        against = RunbookVersion.objects.filter(runbook=book, number=int(against_n)).first()
    else:
        against = RunbookVersion.objects.filter(runbook=book, number__lt=number).order_by("-number").first()
    diff = (
        diff_lines(against.body, version.body, old_label=f"v{against.number}", new_label=f"v{version.number}")
        if against
        else []
    )
    return render(
        request,
        "maintenance/runbook_version.html",
        {
            "book": book,
            "version": version,
            "against": against,
            "diff": diff,
            "html": render_markdown(version.body),
            "all_versions": book.versions.all(),
        },
    )


def _edit(request: HttpRequest, book: Runbook | None) -> HttpResponse:
    initial = (
        {"title": book.title, "kind": book.kind, "body": book.current.body if book.current else ""} if book else {}
    )
    form = RunbookForm(request.POST or None, initial=initial, runbook=book)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if book is None:
            book = Runbook.objects.create(title=data["title"], slug=slugify(data["title"])[:100], kind=data["kind"])
        elif (book.title, book.kind) != (data["title"], data["kind"]):
            book.title, book.kind = data["title"], data["kind"]
            book.save()
        version = save_version(book, data["body"], author=request.user, note=data["change_note"])
        if version:
            messages.success(request, f"Saved as version {version.number}.")
        else:
            messages.info(request, "The text is unchanged; no new version.")
        return redirect("maintenance:runbook", slug=book.slug)
    return render(
        request,
        "maintenance/runbook_edit.html",
        {"form": form, "book": book, "preview": render_markdown(form.data.get("body", "")) if form.is_bound else ""},
    )


@console_view("maintenance.add_runbook", methods=("GET", "HEAD", "POST"))
def runbook_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@console_view("maintenance.change_runbook", methods=("GET", "HEAD", "POST"))
def runbook_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _edit(request, get_object_or_404(Runbook.objects.select_related("current"), slug=slug))


# Executions ---------------------------------------------------------------------------------


@console_view(EXECUTE, methods=("POST",))
def execution_start(request: HttpRequest, slug: str) -> HttpResponse:
    book = get_object_or_404(Runbook.objects.select_related("current"), slug=slug)
    alert = _alert_from(request, request.POST)
    try:
        execution = start_execution(book, request.user, alert=alert)
    except StepRefused as exc:
        messages.error(request, str(exc))
        return redirect("maintenance:runbook", slug=book.slug)
    if alert:
        messages.success(request, f"Started {book.title} for alert #{alert['id']} (incident #{execution.incident_id}).")
    else:
        messages.success(request, f"Started {book.title} (version {execution.version.number}).")
    return redirect("maintenance:execution", pk=execution.pk)


@console_view("maintenance.view_runbookexecution")
def executions(request: HttpRequest) -> HttpResponse:
    rows = (
        RunbookExecution.objects.select_related("runbook", "version", "incident")
        .annotate(done=Count("steps", filter=~Q(steps__state=StepState.PENDING)), total=Count("steps"))
        .order_by("-started_at", "-id")[:100]
    )
    return render(request, "maintenance/executions.html", {"rows": rows})


@console_view("maintenance.view_runbookexecution")
def execution(request: HttpRequest, pk: int) -> HttpResponse:
    ex = get_object_or_404(
        RunbookExecution.objects.select_related("runbook", "runbook__current", "version", "incident"), pk=pk
    )
    steps = list(ex.steps.all())
    pending = [s for s in steps if s.state == StepState.PENDING]
    return render(
        request,
        "maintenance/execution.html",
        {
            "ex": ex,
            "steps": steps,
            "next_step": pending[0] if pending else None,
            "can_execute": has_perm(request, EXECUTE) and ex.state == ExecutionState.RUNNING,
            "newer_version": ex.runbook.current_id != ex.version_id,
            "done_form": StepDoneForm(),
            "skip_form": StepSkipForm(),
            "finish_form": FinishForm(),
        },
    )


def _step(pk: int, position: int) -> ExecutionStep:
    return get_object_or_404(ExecutionStep.objects.select_related("execution"), execution_id=pk, position=position)


def _form_error(form: Any) -> str:
    return "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())


@console_view(EXECUTE, methods=("POST",))
def step_done(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    step = _step(pk, position)
    form = StepDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Step {position} not marked done: {_form_error(form)}")
    else:
        try:
            step = complete_step(step, request.user, note=form.cleaned_data["note"], output=form.cleaned_data["output"])
            if step.output_truncated:
                messages.warning(request, f"Step {position} done; the pasted output was cut to the size limit.")
        except StepRefused as exc:
            messages.warning(request, str(exc))
    return redirect(f"{reverse('maintenance:execution', kwargs={'pk': pk})}#step-{position}")


@console_view(EXECUTE, methods=("POST",))
def step_skip(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    step = _step(pk, position)
    form = StepSkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Step {position} not skipped: say why (500 characters at most).")
    else:
        try:
            skip_step(step, request.user, reason=form.cleaned_data["reason"])
        except StepRefused as exc:
            messages.warning(request, str(exc))
    return redirect(f"{reverse('maintenance:execution', kwargs={'pk': pk})}#step-{position}")


@console_view(EXECUTE, methods=("POST",))
def step_reopen(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    step = _step(pk, position)
    try:
        reopen_step(step, request.user)
    except StepRefused as exc:
        messages.warning(request, str(exc))
    return redirect(f"{reverse('maintenance:execution', kwargs={'pk': pk})}#step-{position}")


@console_view(EXECUTE, methods=("POST",))
def execution_finish(request: HttpRequest, pk: int) -> HttpResponse:
    ex = get_object_or_404(RunbookExecution.objects.select_related("incident"), pk=pk)
    form = FinishForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not finished: {_form_error(form)}")
        return redirect("maintenance:execution", pk=ex.pk)
    try:
        finish_execution(ex, request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"])
    except StepRefused as exc:
        messages.warning(request, str(exc))
        return redirect("maintenance:execution", pk=ex.pk)
    if ex.incident_id:
        still_running = ex.incident.executions.filter(state=ExecutionState.RUNNING).exists()
        if not still_running:
            close_incident(ex.incident)
        messages.success(request, "Execution finished. Now write the post-mortem.")
        return redirect("maintenance:postmortem_edit", pk=ex.incident_id)
    messages.success(request, "Execution finished.")
    return redirect("maintenance:execution", pk=ex.pk)
