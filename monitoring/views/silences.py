"""Silences and maintenance windows: list, create, end early."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from opsportal.access import console_view, has_perm

from ..alert_forms import MaintenanceWindowForm, SilenceForm
from ..models import Alert, MaintenanceWindow, Silence


@console_view("monitoring.view_silence")
def silences(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    current = Silence.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now)).select_related(
        "service", "tag", "created_by"
    )
    past = Silence.objects.filter(ends_at__lte=now).select_related("service", "tag", "created_by")[:20]
    windows = MaintenanceWindow.objects.select_related("service", "created_by")
    return render(
        request,
        "monitoring/silences.html",
        {
            "current": [(s, s.is_active(now)) for s in current],
            "past": past,
            "windows_current": [(w, w.is_active(now)) for w in windows.filter(ends_at__gt=now).order_by("starts_at")],
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
