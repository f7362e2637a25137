"""Incident pages: the list, one incident with its merged timeline and post-mortem, writing it, Markdown export."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from opsportal.access import console_view, has_perm

from ..forms.incidents import FollowUpFormSet, PostMortemForm
from ..incidents import alert_of, as_markdown, timeline
from ..models import FollowUpAction, Incident, PostMortem

VIEW = "maintenance.view_incident"
WRITE = "maintenance.execute_runbook"


@console_view(VIEW)
def incidents(request: HttpRequest) -> HttpResponse:
    rows = Incident.objects.select_related("postmortem").prefetch_related("executions__runbook")[:100]
    return render(request, "maintenance/incidents.html", {"rows": rows})


@console_view(VIEW)
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    inc = get_object_or_404(Incident, pk=pk)
    alert = alert_of(inc)
    pm = PostMortem.objects.filter(incident=inc).first()
    return render(
        request,
        "maintenance/incident.html",
        {
            "inc": inc,
            "alert": alert,
            "pm": pm,
            "actions": pm.actions.all() if pm else [],
            "timeline": timeline(inc, alert),
            "executions": inc.executions.select_related("runbook", "version"),
            "can_write": has_perm(request, WRITE),
        },
    )


@console_view(WRITE, methods=("GET", "HEAD", "POST"))
def postmortem_edit(request: HttpRequest, pk: int) -> HttpResponse:
    inc = get_object_or_404(Incident, pk=pk)
    pm = PostMortem.objects.filter(incident=inc).first()
    initial_actions = (
        [{"text": a.text, "owner": a.owner, "due": a.due, "done": a.done} for a in pm.actions.all()] if pm else []
    )
    form = PostMortemForm(request.POST or None, instance=pm)
    actions = FollowUpFormSet(request.POST or None, initial=initial_actions, prefix="actions")
    if request.method == "POST" and form.is_valid() and actions.is_valid():
        with transaction.atomic():
            pm = form.save(commit=False)
            pm.incident = inc
            if pm.author_id is None:
                pm.author = request.user
            pm.save()
            wanted = [a for a in actions.cleaned_data if a.get("text")]
            pm.actions.all().delete()
            for i, a in enumerate(wanted, 1):
                FollowUpAction.objects.create(
                    postmortem=pm,
                    text=a["text"],
                    owner=a["owner"],
                    due=a.get("due"),
                    done=a.get("done", False),
                    position=i,
                )
        messages.success(request, "Post-mortem saved.")
        return redirect("maintenance:incident", pk=inc.pk)
    return render(request, "maintenance/postmortem_form.html", {"inc": inc, "form": form, "actions": actions})


@console_view(VIEW)
def incident_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    inc = get_object_or_404(Incident, pk=pk)
    response = HttpResponse(as_markdown(inc), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="incident-{inc.pk}-postmortem.md"'
    return response
