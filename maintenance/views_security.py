"""Security pages: the overview, the secrets registry and its rotation walk (Admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from opsportal.access import console_view, has_perm

from .forms_security import SecretForm, TickStepForm
from .models import DependencyAudit, DependencyFinding, Rotation, Secret, VacuumRun
from .secrets_registry import RotationError, cancel_rotation, check_secret, start_rotation, sync_inventory, tick_step
from .security_choices import DueState, RotationState, SecretKind

POST = ("GET", "HEAD", "POST")


@console_view("maintenance.view_dependencyfinding")
def security(request: HttpRequest) -> HttpResponse:
    """The Security section's front page: what needs attention, and where to go."""
    open_findings = DependencyFinding.objects.filter(resolved_at__isnull=True)
    by_sev = dict(open_findings.values_list("severity").annotate(n=Count("id")).values_list("severity", "n"))
    context: dict[str, Any] = {
        "findings_by_severity": by_sev,
        "findings_open": sum(by_sev.values()),
        "latest_audits": DependencyAudit.objects.order_by("-created_at")[:5],
        "can_secrets": has_perm(request, "maintenance.view_secret"),
        "can_access": has_perm(request, "opsportal.view_audit"),
        "can_dbcare": has_perm(request, "maintenance.view_databasecare"),
    }
    if context["can_secrets"]:
        secrets = list(Secret.objects.filter(retired_at__isnull=True))
        now = timezone.now()
        context["secrets_due"] = sum(1 for s in secrets if s.due_state(now) == DueState.DUE_SOON)
        context["secrets_overdue"] = sum(1 for s in secrets if s.due_state(now) == DueState.OVERDUE)
        context["secrets_total"] = len(secrets)
    if context["can_dbcare"]:
        context["last_vacuum"] = VacuumRun.objects.first()
    return render(request, "maintenance/security/index.html", context)


@console_view("maintenance.view_secret")
def secrets(request: HttpRequest) -> HttpResponse:
    sync_inventory()
    now = timezone.now()
    show = request.GET.get("show", "")
    rows = (
        Secret.objects.filter(retired_at__isnull=True)
        if show != "retired"
        else Secret.objects.filter(retired_at__isnull=False)
    )
    rows = rows.annotate(open_rotations=Count("rotations", filter=Q(rotations__state=RotationState.OPEN)))
    items = sorted(rows, key=lambda s: (s.due_at, s.name))
    for s in items:
        s.state = s.due_state(now)
        s.state_label = DueState(s.state).label
    groups = [(label, [s for s in items if s.kind == kind]) for kind, label in SecretKind.choices]
    return render(
        request,
        "maintenance/security/secrets.html",
        {"groups": [(label, rows) for label, rows in groups if rows], "show": show, "now": now},
    )


@console_view("maintenance.add_secret", methods=POST)
def secret_create(request: HttpRequest) -> HttpResponse:
    form = SecretForm(
        request.POST or None, initial={"last_rotated_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    )
    if request.method == "POST" and form.is_valid():
        secret = form.save()
        check_secret(secret)
        messages.success(request, f"'{secret.name}' is in the registry.")
        return redirect("maintenance:secret", pk=secret.pk)
    return render(request, "maintenance/security/secret_form.html", {"form": form, "secret": None})


@console_view("maintenance.change_secret", methods=POST)
def secret_edit(request: HttpRequest, pk: int) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=pk, kind=SecretKind.MANUAL)
    form = SecretForm(request.POST or None, instance=secret)
    if request.method == "POST" and form.is_valid():
        secret = form.save()
        check_secret(secret)
        messages.success(request, "Saved.")
        return redirect("maintenance:secret", pk=secret.pk)
    return render(request, "maintenance/security/secret_form.html", {"form": form, "secret": secret})


@console_view("maintenance.view_secret")
def secret_detail(request: HttpRequest, pk: int) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=pk)
    rotation = secret.open_rotation()
    steps = rotation.step_rows() if rotation else []
    return render(
        request,
        "maintenance/security/secret.html",
        {
            "secret": secret,
            "state": secret.due_state(),
            "rotation": rotation,
            "steps": steps,
            "next_step": next((st for st in steps if not st.done), None),
            "history": secret.rotations.exclude(state=RotationState.OPEN).prefetch_related("steps__done_by")[:20],
            "tick_form": TickStepForm(),
        },
    )


@console_view("maintenance.change_secret", methods=("POST",))
def rotation_start(request: HttpRequest, pk: int) -> HttpResponse:
    secret = get_object_or_404(Secret, pk=pk)
    try:
        start_rotation(secret, request.user)
    except RotationError as exc:
        messages.error(request, str(exc))
    return redirect("maintenance:secret", pk=secret.pk)


@console_view("maintenance.change_secret", methods=("POST",))
def rotation_tick(request: HttpRequest, pk: int) -> HttpResponse:
    rotation = get_object_or_404(Rotation, pk=pk)
    form = TickStepForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("maintenance:secret", pk=rotation.secret_id)
    try:
        rotation = tick_step(
            rotation,
            form.cleaned_data["step"],
            request.user,
            note=form.cleaned_data["note"],
            fingerprint=form.cleaned_data["fingerprint"],
        )
    except RotationError as exc:
        messages.error(request, str(exc))
    else:
        if rotation.state == RotationState.DONE:
            messages.success(request, "All four steps are done: the rotation date moved to now.")
    return redirect("maintenance:secret", pk=rotation.secret_id)


@console_view("maintenance.change_secret", methods=("POST",))
def rotation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    rotation = get_object_or_404(Rotation, pk=pk)
    cancel_rotation(rotation)
    messages.success(request, "Rotation cancelled; the rotation date did not move.")
    return redirect("maintenance:secret", pk=rotation.secret_id)
