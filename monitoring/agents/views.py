"""Console pages of the agents part: the Agents page, the dashboard's agents row, agents, logs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from opsportal import audit
from opsportal.access import console_view, has_perm
from opsportal.models import AuditRecord

from . import board, chain, status
from .forms import AgentForm, LogFilterForm
from .models import Agent, LogLine

LOG_PAGE = 100
TAIL_MAX = 200


@console_view("monitoring.view_agent")
def agents(request: HttpRequest) -> HttpResponse:
    context = board.page()
    context["can_test"] = has_perm(request, "monitoring.test_modelprovider")
    context["can_edit"] = has_perm(request, "monitoring.change_agent")
    context["can_add"] = has_perm(request, "monitoring.add_agent")
    template = "monitoring/agents/_cards.html" if request.headers.get("HX-Request") else "monitoring/agents/agents.html"
    return render(request, template, context)


@console_view("monitoring.view_agent")
def agents_row(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/agents/_dashboard_row.html", board.dashboard_row())


@console_view("monitoring.test_modelprovider", methods=("POST",))
def agents_test_all(request: HttpRequest) -> HttpResponse:
    checks = chain.test_all()
    failed = [c.provider.name for c in checks if not c.ok]
    summary = f"tested {len(checks)} provider(s); failing: {', '.join(failed) or 'none'}"
    audit.record(
        AuditRecord.Action.ACTION,
        None,
        summary=f"Test all model providers: {summary}",
        object_type="monitoring.modelprovider",
    )
    messages.add_message(request, messages.WARNING if failed else messages.SUCCESS, f"Test all: {summary}.")
    return redirect("monitoring:agents")


def _agent_form(request: HttpRequest, agent: Agent | None) -> HttpResponse:
    form = AgentForm(request.POST or None, instance=agent)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Agent {saved.name} saved.")
        return redirect("monitoring:agents")
    return render(request, "monitoring/agents/agent_form.html", {"form": form, "agent": agent})


@console_view("monitoring.add_agent", methods=("GET", "HEAD", "POST"))
def agent_create(request: HttpRequest) -> HttpResponse:
    return _agent_form(request, None)


@console_view("monitoring.change_agent", methods=("GET", "HEAD", "POST"))
def agent_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _agent_form(request, get_object_or_404(Agent, slug=slug))


def _filtered(form: LogFilterForm) -> QuerySet[LogLine]:
    lines = LogLine.objects.select_related("service", "agent")
    if not form.is_valid():
        return lines.none()
    data = form.cleaned_data
    if data.get("service"):
        lines = lines.filter(service=data["service"])
    if data.get("agent"):
        lines = lines.filter(agent=data["agent"])
    if data.get("level"):
        lines = lines.filter(level__in=status.levels_at_least(data["level"]))
    if data.get("q"):
        lines = lines.filter(message__icontains=data["q"])
    if data.get("since"):
        lines = lines.filter(at__gte=data["since"])
    if data.get("until"):
        lines = lines.filter(at__lte=data["until"])
    return lines.order_by("-at", "-id")


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    for key in ("page", "after"):
        params.pop(key, None)
    return params.urlencode()


@console_view("monitoring.view_logline")
def logs(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(request.GET or None)
    if not request.GET:
        form = LogFilterForm({})
    lines = _filtered(form)
    page = Paginator(lines, LOG_PAGE).get_page(request.GET.get("page"))
    newest = max(
        (line.pk for line in page.object_list),
        default=LogLine.objects.order_by("-id").values_list("id", flat=True).first() or 0,
    )
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "query": _query(request),
        "after": newest,
        "live": page.number == 1 and not (form.is_valid() and form.cleaned_data.get("until")),
        "tail_url": reverse("monitoring:logs_tail"),
    }
    return render(request, "monitoring/agents/logs.html", context)


@console_view("monitoring.view_logline")
def logs_tail(request: HttpRequest) -> HttpResponse:
    """Live tail: lines newer than ``after`` (an id) that match the filters, newest first."""
    form = LogFilterForm(request.GET)
    after = request.GET.get("after", "0")
    after_id = int(after) if after.isdigit() else 0
    lines = list(_filtered(form).filter(id__gt=after_id)[:TAIL_MAX])
    newest = max((line.pk for line in lines), default=after_id)
    context = {"lines": lines, "after": newest, "query": _query(request), "tail_url": reverse("monitoring:logs_tail")}
    return render(request, "monitoring/agents/_logs_tail.html", context)
