"""The dashboard home: every service at a glance (live via htmx), plus the portal's own health.

The services board (board.py, present.py, rows.py) costs a fixed number of queries whatever the
number of services, and stays small: healthy groups collapse and rows are paged within a group.
Its refresh (live.py) answers 304 when nothing changed and otherwise only the changed pieces.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.template.loader import render_to_string

from monitoring.alerts.choices import AlertState
from monitoring.alerts.models import Alert
from monitoring.alerts.public import evidence
from monitoring.dashboard import live
from monitoring.dashboard.present import BoardPage
from opsportal import health
from opsportal.access import console_view
from opsportal.models import Heartbeat

ALERTS_SHOWN = 6


def _alerts_context() -> dict[str, Any]:
    """Open alerts for the top of the dashboard: counts by state and the most urgent few (2 queries)."""
    open_alerts = Alert.objects.exclude(state=AlertState.RESOLVED)
    counts = dict.fromkeys((AlertState.FIRING, AlertState.ACKNOWLEDGED), 0)
    for row in open_alerts.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    urgent = list(
        open_alerts.select_related("service")
        # Firing before acknowledged, critical before warning, newest first.
        .order_by("-state", "severity", "-started_at")[:ALERTS_SHOWN]
    )
    return {"alert_counts": counts, "urgent_alerts": urgent, "alerts_more": max(sum(counts.values()) - len(urgent), 0)}


def _board_context(page: BoardPage) -> dict[str, Any]:
    """The whole board, remembered for the refreshes that will follow."""
    snapshot = page.snapshot()
    token = live.token_of(snapshot)
    live.remember(token, snapshot)
    return {"form": page.form, **page.board_context(token)}


@console_view("opsportal.view_console")
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _board_context(BoardPage.build(request))
    context.update(_alerts_context())
    context.update(portal_health=health.run_checks(), heartbeats=Heartbeat.objects.all())
    # Today's checklist progress and open incidents, from the maintenance app's provider (if installed).
    context["maintenance"] = evidence("maintenance_today")
    return render(request, "monitoring/dashboard.html", context)


@console_view("opsportal.view_console")
def dashboard_alerts(request: HttpRequest) -> HttpResponse:
    """The open-alerts panel alone, polled by htmx."""
    return render(request, "monitoring/_dashboard_alerts.html", _alerts_context())


@console_view("opsportal.view_console")
def dashboard_services(request: HttpRequest) -> HttpResponse:
    """The services board: whole (a filter change, no cursor), or what changed since ``cursor``.

    The refresh every 5 s and the board's own links (open a group, page within it) send the
    live form's values: the filters, the view and the cursor of what the page shows. The answer
    is a 304 when nothing changed, else out-of-band swaps of only what did. A filter change or a
    link moves the address bar (HX-Push-Url), so reload and sharing keep the filters and view.
    """
    page = BoardPage.build(request)
    cursor = request.GET.get("cursor", "")
    snapshot = page.snapshot()
    token = live.token_of(snapshot)
    polled = request.headers.get("HX-Trigger") == "svc-poll"
    if cursor and cursor == token:
        live.keep(token)
        response: HttpResponse = HttpResponseNotModified()
    else:
        old = live.recall(cursor) if cursor else None
        live.remember(token, snapshot)
        if old is not None and live.same_frame(old, snapshot):
            body = render_to_string(
                "monitoring/_board_changes.html", live.changes(page, old, snapshot, token), request=request
            )
        else:
            # No cursor: a filter change swaps the board in place; an unknown cursor or new groups:
            # the whole board out of band (the refresh and the links swap nothing themselves).
            context = page.board_context(token, oob=bool(cursor))
            body = render_to_string("monitoring/_dashboard_services.html", context, request=request)
        response = HttpResponse(body)
    response["ETag"] = f'"{token}"'
    if request.headers.get("HX-Request") and not polled:
        response["HX-Push-Url"] = page.page_url()
    return response
