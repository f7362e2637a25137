"""The monthly report: page (prints cleanly), CSV export and JSON API."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from opsportal.access import api_error, api_view, console_view
from opsportal.apidoc import ANY_OBJECT, INT, NUM, STR, TIME, Answer, arr, describe, null, obj, tag

from . import reports


def _month(request: HttpRequest, month: str | None) -> str:
    return month or request.GET.get("month") or reports.previous_month()


@console_view("maintenance.view_monthlyreport")
def report(request: HttpRequest, month: str | None = None) -> HttpResponse:
    if month is None and request.GET.get("month"):
        return redirect("maintenance:report_month", month=request.GET["month"])
    month = _month(request, month)
    try:
        data = reports.build(month)
    except ValueError:
        raise Http404("no such month") from None
    now = timezone.localtime()
    recent = []
    cursor = now.date().replace(day=1)
    for _ in range(12):
        recent.append(f"{cursor:%Y-%m}")
        cursor = (cursor - dt.timedelta(days=1)).replace(day=1)
    return render(request, "maintenance/report.html", {"r": data, "months": recent, "now": now})


@console_view("maintenance.view_monthlyreport")
def report_csv(request: HttpRequest, month: str) -> HttpResponse:
    try:
        data = reports.build(month)
    except ValueError:
        raise Http404("no such month") from None
    response = HttpResponse(reports.to_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ops-portal-report-{month}.csv"'
    return response


@describe(
    "GET",
    "The monthly report",
    tag=tag("Reports", "The monthly operations report."),
    answers={
        200: Answer(
            "Uptime and error budget per service, alerts, incidents, backups, checklists, secrets due, findings.",
            obj(
                {
                    "month": STR,
                    "start": TIME,
                    "end": TIME,
                    "targets": obj({"uptime": NUM, "p95_ms": NUM}),
                    "services": arr(
                        obj(
                            {
                                "slug": STR,
                                "name": STR,
                                "uptime": null(NUM),
                                "error_budget_left": null(NUM),
                                "p95_ms": null(NUM),
                                "checks": INT,
                            }
                        )
                    ),
                    "services_note": STR,
                    "alerts": ANY_OBJECT,
                    "incidents": arr(ANY_OBJECT),
                    "postmortems": INT,
                    "backups": ANY_OBJECT,
                    "checklists": arr(ANY_OBJECT),
                    "secrets_due": arr(ANY_OBJECT),
                    "findings_open": {"type": "object", "additionalProperties": INT},
                    "findings_total": INT,
                    "last_audit_at": null(TIME),
                }
            ),
        )
    },
    errors=(400,),
)
@api_view("maintenance.view_monthlyreport")
def api_report(request: HttpRequest, month: str) -> JsonResponse:
    try:
        data = reports.build(month)
    except ValueError as exc:
        return api_error(400, str(exc), field="month")
    return JsonResponse(reports.to_json(data))
