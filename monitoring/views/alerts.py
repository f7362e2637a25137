"""Alerts pages: the list with filters and MTTA/MTTR, one alert with its timeline, and the actions on it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from opsportal import audit
from opsportal.access import console_view, has_perm
from opsportal.models import AuditRecord

from ..alert_forms import AlertFilterForm, CommentForm, NoteForm
from ..alerting import acknowledge, alert_stats, format_duration, resolve, runbook_url
from ..choices import AlertState
from ..models import Alert, Deployment, Notification


def service_url(service: Any) -> str | None:
    """The service page, once the services pages exist."""
    if service is None:
        return None
    try:
        return reverse("monitoring:service", kwargs={"slug": service.slug})
    except NoReverseMatch:
        return None


def filtered_alerts(form: AlertFilterForm) -> tuple[QuerySet[Alert], QuerySet[Alert]]:
    """(alerts matching every filter, the same without the state filter) for the list and its statistics."""
    rows = Alert.objects.select_related("service", "acknowledged_by")
    state = "open"
    if form.is_valid():
        data = form.cleaned_data
        state = data["state"] or "open"
        if data["severity"]:
            rows = rows.filter(severity=data["severity"])
        if data["service"]:
            rows = rows.filter(service=data["service"])
        if data["source"]:
            rows = rows.filter(source=data["source"])
        if data["q"]:
            rows = rows.filter(Q(summary__icontains=data["q"]) | Q(dedup_key__icontains=data["q"]))
    any_state = rows
    if state == "open":
        rows = rows.exclude(state=AlertState.RESOLVED)
    elif state != "all":
        rows = rows.filter(state=state)
    return rows, any_state


@console_view("monitoring.view_alert")
def alerts(request: HttpRequest) -> HttpResponse:
    sources = list(Alert.objects.order_by().values_list("source", flat=True).distinct())
    form = AlertFilterForm(request.GET or None, sources=sources)
    rows, any_state = filtered_alerts(form)
    since, until, period = form.window(timezone.now())
    stats = alert_stats(since, until, any_state)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    counts = {
        state: Alert.objects.filter(state=state).count() for state in (AlertState.FIRING, AlertState.ACKNOWLEDGED)
    }
    return render(
        request,
        "monitoring/alerts.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "stats": stats,
            "period": period,
            "mtta": format_duration(stats.mtta),
            "mttr": format_duration(stats.mttr),
            "counts": counts,
        },
    )


def timeline(alert: Alert) -> list[dict[str, Any]]:
    """Events, notification attempts and comments of an alert, in time order."""
    entries: list[dict[str, Any]] = []
    for event in alert.events.select_related("actor", "channel"):
        entries.append({"at": event.at, "order": 0, "type": "event", "event": event})
    notifications = (
        Notification.objects.filter(alert=alert)
        .select_related("channel", "event")
        .prefetch_related("tries")
        .order_by("created_at", "id")
    )
    for n in notifications:
        tries = list(n.tries.all())
        for attempt in tries:
            entries.append({"at": attempt.started_at, "order": 1, "type": "attempt", "n": n, "attempt": attempt})
        if n.state == "pending":
            entries.append({"at": n.created_at, "order": 2, "type": "queued", "n": n})
        elif n.state == "failed":
            at = (tries[-1].finished_at or tries[-1].started_at) if tries else n.created_at
            entries.append({"at": at, "order": 3, "type": "gave_up", "n": n})
    entries.sort(key=lambda e: (e["at"], e["order"]))
    return entries


@console_view("monitoring.view_alert")
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("service", "acknowledged_by", "resolved_by"), pk=pk)
    deployments = (
        Deployment.objects.filter(service=alert.service, at__lte=alert.last_seen_at).order_by("-at")[:5]
        if alert.service_id
        else []
    )
    return render(
        request,
        "monitoring/alert_detail.html",
        {
            "alert": alert,
            "timeline": timeline(alert),
            "runbook_url": runbook_url(alert.runbook),
            "service_url": service_url(alert.service),
            "deployments": deployments,
            "can_acknowledge": alert.state == AlertState.FIRING and has_perm(request, "monitoring.acknowledge_alert"),
            "can_resolve": alert.is_open and has_perm(request, "monitoring.resolve_alert"),
            "can_comment": has_perm(request, "monitoring.comment_alert"),
            "can_silence": alert.is_open and has_perm(request, "monitoring.add_silence"),
            "note_form": NoteForm(),
            "comment_form": CommentForm(),
            "tta": format_duration(alert.acknowledged_at - alert.started_at) if alert.acknowledged_at else None,
            "ttr": format_duration(alert.resolved_at - alert.started_at) if alert.resolved_at else None,
        },
    )


def _refused(request: HttpRequest, alert: Alert, verb: str) -> None:
    who = alert.acknowledged_by or alert.resolved_by
    by = f" by {who.get_username()}" if who else ""
    messages.warning(request, f"Not {verb}: the alert is already {alert.state}{by}.")


@console_view("monitoring.acknowledge_alert", methods=("POST",))
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is too long (2000 characters at most).")
    elif acknowledge(alert, request.user, form.cleaned_data["note"]):
        messages.success(request, "Alert acknowledged.")
    else:
        _refused(request, alert, "acknowledged")
    return redirect("monitoring:alert", pk=alert.pk)


@console_view("monitoring.resolve_alert", methods=("POST",))
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is too long (2000 characters at most).")
    elif resolve(alert, request.user, form.cleaned_data["note"]):
        messages.success(request, "Alert resolved.")
    else:
        _refused(request, alert, "resolved")
    return redirect("monitoring:alert", pk=alert.pk)


@console_view("monitoring.comment_alert", methods=("POST",))
def alert_comment(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        alert.comment(request.user, form.cleaned_data["note"])
        audit.record(AuditRecord.Action.ACTION, alert, summary=f"commented: {form.cleaned_data['note']}")
        messages.success(request, "Comment added.")
    else:
        messages.error(request, "Write a comment of at most 2000 characters.")
    return redirect("monitoring:alert", pk=alert.pk)
