"""Notification channels: everyone reads the list (secrets masked); admins add, edit, remove and test."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from opsportal import audit
from opsportal.access import console_view, has_perm
from opsportal.models import AuditRecord

from ..alert_forms import ChannelForm
from ..models import NotificationChannel
from ..notify import send_test


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
