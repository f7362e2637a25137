"""Alerts JSON API: read (viewers and up), acknowledge and resolve (editors and up)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from monitoring.alerts.alerting import acknowledge, resolve
from monitoring.alerts.choices import AlertEventKind, AlertState, Severity
from monitoring.alerts.models import Alert
from opsportal.access import api_error, api_view, json_body
from opsportal.apidoc import (
    ANY_OBJECT,
    INT,
    STR,
    TIME,
    Answer,
    Body,
    arr,
    component,
    describe,
    described,
    enum,
    null,
    obj,
    page_of,
    query,
    tag,
)
from opsportal.web import ApiError, api_page, iso, parse_time

STATES = {"open", "all", *AlertState.values}

ALERTS = tag("Alerts", "Alerts: read them (viewers and up), acknowledge and resolve them (editors and up).")
ALERT_FIELDS = {
    "id": INT,
    "dedup_key": described(STR, "What the alert is about; one open alert per key."),
    "source": STR,
    "severity": enum(Severity.values),
    "state": enum(AlertState.values),
    "summary": STR,
    "details": ANY_OBJECT,
    "service": null(STR),
    "runbook": null(STR),
    "started_at": TIME,
    "last_seen_at": TIME,
    "acknowledged_at": null(TIME),
    "acknowledged_by": null(STR),
    "resolved_at": null(TIME),
    "resolved_by": null(STR),
    "notification_count": INT,
    "held": null(described(STR, "Why notifications are held (maintenance, silence, parent down ...).")),
    "url": described(STR, "The alert's console page."),
}
ALERT = component("Alert", obj(ALERT_FIELDS))
EVENT = obj({"at": TIME, "kind": enum(AlertEventKind.values), "actor": null(STR), "note": STR, "notified": null(STR)})
ALERT_DETAIL = component("AlertDetail", obj({**ALERT_FIELDS, "events": arr(EVENT)}))
NOTE = Body(
    obj({"note": {"type": "string", "maxLength": 2000}}, optional=["note"], extra=True),
    "An optional note for the alert's timeline.",
    required=False,
    example={"note": "looking into it"},
)


def alert_json(alert: Alert, *, events: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": alert.pk,
        "dedup_key": alert.dedup_key,
        "source": alert.source,
        "severity": alert.severity,
        "state": alert.state,
        "summary": alert.summary,
        "details": alert.details,
        "service": alert.service.slug if alert.service_id and alert.service else None,
        "runbook": alert.runbook or None,
        "started_at": iso(alert.started_at),
        "last_seen_at": iso(alert.last_seen_at),
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by_id else None,
        "resolved_at": iso(alert.resolved_at),
        "resolved_by": alert.resolved_by.get_username() if alert.resolved_by_id else None,
        "notification_count": alert.notification_count,
        "held": alert.held_reason or None,
        "url": reverse("monitoring:alert", kwargs={"pk": alert.pk}),
    }
    if events:
        data["events"] = [
            {
                "at": iso(e.at),
                "kind": e.kind,
                "actor": e.actor.get_username() if e.actor_id else None,
                "note": e.note,
                "notified": e.dispatch_note or None,
            }
            for e in alert.events.select_related("actor")
        ]
    return data


@describe(
    "GET",
    "List alerts",
    tag=ALERTS,
    params=[
        query("state", enum(sorted(STATES)), "open (the default: firing or acknowledged), all, or one state."),
        query("severity", enum(Severity.values)),
        query("service", STR, "A service slug."),
        query("source", STR, "monitoring, metrics, backups, deployments ..."),
        query("since", TIME, "Started at or after this time (ISO-8601 with a zone)."),
        query("page", {"type": "integer", "minimum": 1}),
    ],
    answers={200: Answer("One page of alerts, newest first.", page_of(ALERT))},
    errors=(400,),
)
@api_view("monitoring.view_alert")
def alerts(request: HttpRequest) -> JsonResponse:
    rows = Alert.objects.select_related("service", "acknowledged_by", "resolved_by")
    errors: dict[str, str] = {}
    state = request.GET.get("state", "open")
    if state not in STATES:
        errors["state"] = f"one of {', '.join(sorted(STATES))}"
    elif state == "open":
        rows = rows.exclude(state=AlertState.RESOLVED)
    elif state != "all":
        rows = rows.filter(state=state)
    severity = request.GET.get("severity")
    if severity:
        if severity not in Severity.values:
            errors["severity"] = f"one of {', '.join(Severity.values)}"
        rows = rows.filter(severity=severity)
    if request.GET.get("service"):
        rows = rows.filter(service__slug=request.GET["service"])
    if request.GET.get("source"):
        rows = rows.filter(source=request.GET["source"])
    if request.GET.get("since"):
        try:
            rows = rows.filter(started_at__gte=parse_time(request.GET["since"]))
        except ValueError as exc:
            errors["since"] = str(exc)
    if errors:
        raise ApiError(400, "; ".join(f"{name}: {problem}" for name, problem in errors.items()), errors)
    page, envelope = api_page(request, rows)
    return JsonResponse({**envelope, "results": [alert_json(a) for a in page.object_list]})


@describe(
    "GET",
    "One alert and its timeline",
    tag=ALERTS,
    answers={200: Answer("The alert with its events, oldest first.", ALERT_DETAIL)},
    errors=(404,),
)
@api_view("monitoring.view_alert")
def alert(request: HttpRequest, pk: int) -> JsonResponse:
    row = get_object_or_404(Alert.objects.select_related("service", "acknowledged_by", "resolved_by"), pk=pk)
    return JsonResponse(alert_json(row, events=True))


def _note(request: HttpRequest) -> tuple[str, JsonResponse | None]:
    if not request.body:
        return "", None
    try:
        body = json_body(request)
    except ValueError as exc:
        return "", api_error(400, str(exc))
    if body is None:
        return "", None
    if not isinstance(body, dict) or not isinstance(body.get("note", ""), str):
        return "", api_error(400, "invalid body", errors={"note": 'send {"note": "text"} (optional)'})
    note = body.get("note", "")
    if len(note) > 2000:
        return "", api_error(400, "invalid body", errors={"note": "at most 2000 characters"})
    return note, None


def _act(request: HttpRequest, pk: int, verb: str) -> JsonResponse:
    row = get_object_or_404(Alert, pk=pk)
    note, error = _note(request)
    if error is not None:
        return error
    done = acknowledge(row, request.user, note) if verb == "acknowledge" else resolve(row, request.user, note)
    if not done:
        return api_error(409, f"cannot {verb}: the alert is {row.state}", state=row.state)
    row = Alert.objects.select_related("service", "acknowledged_by", "resolved_by").get(pk=pk)
    return JsonResponse(alert_json(row, events=True))


@describe(
    "POST",
    "Acknowledge an alert",
    tag=ALERTS,
    body=NOTE,
    answers={200: Answer("The alert after the change.", ALERT_DETAIL)},
    errors=(400, 404, 409),
)
@api_view("monitoring.acknowledge_alert", methods=("POST",))
def alert_acknowledge(request: HttpRequest, pk: int) -> JsonResponse:
    return _act(request, pk, "acknowledge")


@describe(
    "POST",
    "Resolve an alert",
    tag=ALERTS,
    body=NOTE,
    answers={200: Answer("The alert after the change.", ALERT_DETAIL)},
    errors=(400, 404, 409),
)
@api_view("monitoring.resolve_alert", methods=("POST",))
def alert_resolve(request: HttpRequest, pk: int) -> JsonResponse:
    return _act(request, pk, "resolve")
