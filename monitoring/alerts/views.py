"""Alerts pages (the list with filters and MTTA/MTTR, one alert with its timeline, the actions on it);
silences and maintenance windows (list, create, end early); notification channels (configuration:
admins only read the list, secrets masked, and add, edit, remove and test)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from monitoring.alerts.alerting import acknowledge, alert_stats, resolve, runbook_url
from monitoring.alerts.choices import AlertState
from monitoring.alerts.forms import (
    AlertFilterForm,
    ChannelForm,
    CommentForm,
    MaintenanceWindowForm,
    NoteForm,
    SilenceForm,
)
from monitoring.alerts.models import Alert, MaintenanceWindow, Notification, NotificationChannel, Silence
from monitoring.alerts.notify import send_test
from monitoring.services.models import Deployment
from opsportal import audit
from opsportal.access import console_view, has_perm
from opsportal.formatting import duration
from opsportal.models import AuditRecord


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
    rows = form.narrow(Alert.objects.select_related("service", "acknowledged_by"))
    state = (form.cleaned_data["state"] if form.is_valid() else "") or "open"
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
    counts = {
        state: Alert.objects.filter(state=state).count() for state in (AlertState.FIRING, AlertState.ACKNOWLEDGED)
    }
    return render(
        request,
        "monitoring/alerts.html",
        {
            "form": form,
            "page": page,
            "query": form.query_string(),
            "stats": stats,
            "period": period,
            "mtta": duration(stats.mtta),
            "mttr": duration(stats.mttr),
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
            "runbook_url": runbook_url(alert.runbook, alert.pk),
            "service_url": service_url(alert.service),
            "deployments": deployments,
            "reopened_as": alert.reopened_as.order_by("started_at").first(),
            "can_acknowledge": alert.state == AlertState.FIRING and has_perm(request, "monitoring.acknowledge_alert"),
            "can_resolve": alert.is_open and has_perm(request, "monitoring.resolve_alert"),
            "can_comment": has_perm(request, "monitoring.comment_alert"),
            "can_silence": alert.is_open and has_perm(request, "monitoring.add_silence"),
            "note_form": NoteForm(),
            "comment_form": CommentForm(),
            "tta": duration(alert.acknowledged_at - alert.started_at) if alert.acknowledged_at else None,
            "ttr": duration(alert.resolved_at - alert.started_at) if alert.resolved_at else None,
        },
    )


def _refused(request: HttpRequest, alert: Alert, verb: str) -> None:
    who = alert.acknowledged_by or alert.resolved_by
    by = f" by {who.get_username()}" if who else ""
    messages.warning(request, f"Not {verb}: the alert is already {alert.state}{by}.")


def _act(request: HttpRequest, pk: int, act: Callable[[Alert, Any, str], bool], verb: str) -> HttpResponse:
    """Acknowledge or resolve with an optional note; say so when someone else got there first."""
    alert = get_object_or_404(Alert, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is too long (2000 characters at most).")
    elif act(alert, request.user, form.cleaned_data["note"]):
        messages.success(request, f"Alert {verb}.")
    else:
        _refused(request, alert, verb)
    return redirect("monitoring:alert", pk=alert.pk)


@console_view("monitoring.acknowledge_alert", methods=("POST",))
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, acknowledge, "acknowledged")


@console_view("monitoring.resolve_alert", methods=("POST",))
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, resolve, "resolved")


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


@console_view("monitoring.view_silence")
def silences(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    current = Silence.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now)).select_related(
        "service", "tag", "created_by"
    )
    past = Silence.objects.filter(ends_at__lte=now).select_related("service", "tag", "created_by")[:20]
    windows = MaintenanceWindow.objects.select_related("service", "created_by")
    live = windows.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now)).order_by("starts_at")
    windows_current = [(w, w.is_active(now), w.next_occurrences(now, 5)) for w in live]
    calendar = sorted(
        ((start, end, w) for w, _active, upcoming in windows_current for start, end in upcoming), key=lambda r: r[0]
    )[:20]
    return render(
        request,
        "monitoring/silences.html",
        {
            "current": [(s, s.is_active(now)) for s in current],
            "past": past,
            "windows_current": windows_current,
            "calendar": calendar,
            "windows_past": windows.filter(ends_at__lte=now)[:20],
            "can_silence": has_perm(request, "monitoring.add_silence"),
            "can_end": has_perm(request, "monitoring.change_silence"),
            "can_window": has_perm(request, "monitoring.add_maintenancewindow"),
            "can_delete_window": has_perm(request, "monitoring.delete_maintenancewindow"),
        },
    )


@console_view("monitoring.add_silence", methods=("GET", "HEAD", "POST"))
def silence_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    alert = None
    if request.GET.get("alert", "").isdigit():
        alert = Alert.objects.filter(pk=int(request.GET["alert"])).select_related("service").first()
        if alert is not None:
            initial = {
                "key_prefix": alert.dedup_key,
                "reason": f"Silencing: {alert.summary}"[:300],
                "ends_at": timezone.localtime() + timezone.timedelta(hours=2),
            }
    form = SilenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            silence = form.save(commit=False)
            silence.created_by = request.user
            silence.save()
        messages.success(request, f"Silence created: {silence.matcher_display}, {silence.window_display}.")
        return redirect("monitoring:silences")
    return render(
        request,
        "monitoring/silence_form.html",
        {"form": form, "alert": alert, "time_zone": timezone.get_current_timezone_name()},
    )


@console_view("monitoring.change_silence", methods=("POST",))
def silence_expire(request: HttpRequest, pk: int) -> HttpResponse:
    silence = get_object_or_404(Silence, pk=pk)
    now = timezone.now()
    if silence.ends_at is None or silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at + timezone.timedelta(seconds=1))
        silence.save(update_fields=["ends_at"])
        messages.success(request, "Silence ended; held notifications go out on the next notifier pass.")
    return redirect("monitoring:silences")


@console_view("monitoring.add_maintenancewindow", methods=("GET", "HEAD", "POST"))
def maintenance_window_create(request: HttpRequest) -> HttpResponse:
    form = MaintenanceWindowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            window = form.save(commit=False)
            window.created_by = request.user
            window.save()
        messages.success(request, f"Maintenance window for {window.service} created.")
        return redirect("monitoring:silences")
    return render(request, "monitoring/silence_window_form.html", {"form": form})


@console_view("monitoring.delete_maintenancewindow", methods=("POST",))
def maintenance_window_delete(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=pk)
    window.delete()
    messages.success(request, f"Maintenance window for {window.service} removed.")
    return redirect("monitoring:silences")


@console_view("monitoring.view_notificationchannel")
def channels(request: HttpRequest) -> HttpResponse:
    rows = NotificationChannel.objects.prefetch_related("services", "tags")
    return render(
        request,
        "monitoring/channels.html",
        {"channels": rows, "can_manage": has_perm(request, "monitoring.change_notificationchannel")},
    )


@console_view("monitoring.add_notificationchannel", methods=("GET", "HEAD", "POST"))
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            channel = form.save()
        messages.success(request, f"Channel {channel.name} saved. Send it a test notification to check it.")
        return redirect("monitoring:channels")
    return render(request, "monitoring/channel_form.html", {"form": form, "title": "New notification channel"})


@console_view("monitoring.change_notificationchannel", methods=("GET", "HEAD", "POST"))
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    form = ChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, f"Channel {channel.name} saved.")
        return redirect("monitoring:channels")
    return render(
        request, "monitoring/channel_form.html", {"form": form, "title": f"Edit {channel.name}", "channel": channel}
    )


@console_view("monitoring.delete_notificationchannel", methods=("POST",))
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    channel.delete()
    messages.success(request, f"Channel {channel.name} removed.")
    return redirect("monitoring:channels")


@console_view("monitoring.test_notificationchannel", methods=("POST",))
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    result = send_test(channel)
    audit.record(
        AuditRecord.Action.ACTION, channel, summary=f"test notification {'delivered' if result.ok else 'failed'}"
    )
    if result.ok:
        messages.success(request, f"Test notification delivered to {channel.name}.")
    else:
        messages.error(request, f"Test notification to {channel.name} failed: {result.error or 'no reason given'}.")
    return redirect("monitoring:channels")
