"""The dashboard home: every service at a glance, plus the portal's own health."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from opsportal import health
from opsportal.access import console_view
from opsportal.models import Heartbeat


@console_view("opsportal.view_console")
def dashboard(request: HttpRequest) -> HttpResponse:
    report = health.run_checks()
    return render(
        request,
        "monitoring/dashboard.html",
        {"portal_health": report, "heartbeats": Heartbeat.objects.all()},
    )
