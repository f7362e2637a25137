"""Dependency audits: findings and audits pages, the upload form and POST /api/v1/ingest/audits."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from opsportal.access import api_error, api_view, console_view
from opsportal.apidoc import ANY_OBJECT, INT, STR, Answer, Body, describe, enum, null, obj, query

from .audit_formats import MAX_BYTES, AuditFormatError
from .dependency_audits import ingest
from .forms_security import AuditUploadForm
from .models import DependencyAudit, DependencyFinding
from .security_choices import SEVERITY_ORDER, AuditOrigin, AuditOutcome, AuditTool

AUDIT_RESULT = obj(
    {
        "audit": INT,
        "project": STR,
        "tool": enum(AuditTool.values),
        "outcome": enum(AuditOutcome.values),
        "packages_audited": INT,
        "findings": INT,
        "new": INT,
        "fixed": INT,
        "error": null(STR),
    }
)


@console_view("maintenance.view_dependencyfinding")
def findings(request: HttpRequest) -> HttpResponse:
    show_fixed = request.GET.get("show") == "fixed"
    rows = DependencyFinding.objects.filter(resolved_at__isnull=not show_fixed).select_related("first_audit")
    project = request.GET.get("project", "")
    if project:
        rows = rows.filter(project=project)
    ordered = sorted(rows, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.project, f.package, f.advisory_id))
    return render(
        request,
        "maintenance/security/findings.html",
        {
            "findings": ordered,
            "show_fixed": show_fixed,
            "project": project,
            "projects": DependencyFinding.objects.values_list("project", flat=True).distinct().order_by("project"),
            "audits": Paginator(DependencyAudit.objects.all(), 20).get_page(request.GET.get("page")),
            "form": AuditUploadForm(),
        },
    )


@console_view("maintenance.add_dependencyaudit", methods=("POST",))
def audit_upload(request: HttpRequest) -> HttpResponse:
    form = AuditUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("maintenance:findings")
    upload = form.cleaned_data["report"]
    if upload.size > MAX_BYTES:
        messages.error(request, f"report: larger than {MAX_BYTES // (1024 * 1024)} MB")
        return redirect("maintenance:findings")
    try:
        audit = ingest(
            upload.read(),
            project=form.cleaned_data["project"],
            origin=AuditOrigin.UPLOAD,
            user=request.user,
            tool=form.cleaned_data["tool"] or None,
        )
    except AuditFormatError as exc:
        messages.error(request, f"The report was not stored: {exc}")
        return redirect("maintenance:findings")
    if audit.error:
        messages.warning(request, f"Stored, but nothing was audited: {audit.error}")
    else:
        messages.success(
            request,
            f"{audit.get_tool_display()} report stored: {audit.findings_count} findings, {audit.new_count} new, {audit.fixed_count} fixed.",
        )
    return redirect("maintenance:findings")


@describe(
    "POST",
    "Post a dependency audit",
    tag="Ingest",
    params=[
        query(
            "project",
            {"type": "string", "minLength": 1},
            "The project audited (frontend, backend ...).",
            required=True,
            example="backend",
        ),
        query("tool", enum(AuditTool.values), "Default: recognised from the report."),
    ],
    body=Body(
        ANY_OBJECT,
        "The JSON report of pip-audit (--format json) or npm audit (--json), as the tool wrote it.",
        example={"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}], "fixes": []},
    ),
    answers={
        201: Answer("Stored and audited.", AUDIT_RESULT),
        202: Answer("Stored, but nothing was audited (the tool's error is in error).", AUDIT_RESULT),
        400: Answer(
            "No project, or a report the portal cannot read; nothing was stored.",
            {"$ref": "#/components/schemas/Error"},
        ),
        413: Answer("The report is larger than the portal accepts.", {"$ref": "#/components/schemas/Error"}),
    },
)
@api_view("maintenance.add_dependencyaudit", methods=("POST",))
def api_ingest_audits(request: HttpRequest) -> JsonResponse:
    """POST the tool's JSON as the body; ``?project=`` names the project, ``?tool=`` is optional."""
    project = request.GET.get("project", "")
    if not project:
        return api_error(400, "project: add ?project=<name> to the URL (e.g. ?project=frontend)", field="project")
    if len(request.body) > MAX_BYTES:
        return api_error(413, f"body: larger than {MAX_BYTES // (1024 * 1024)} MB", field="body")
    try:
        audit = ingest(
            request.body,
            project=project,
            origin=AuditOrigin.API,
            user=request.user,
            tool=request.GET.get("tool") or None,
        )
    except AuditFormatError as exc:
        return api_error(400, f"report rejected: {exc}", field="body")
    status = 201 if not audit.error else 202
    return JsonResponse(
        {
            "audit": audit.pk,
            "project": audit.project,
            "tool": audit.tool,
            "outcome": audit.outcome,
            "packages_audited": audit.packages_audited,
            "findings": audit.findings_count,
            "new": audit.new_count,
            "fixed": audit.fixed_count,
            "error": audit.error or None,
        },
        status=status,
    )
