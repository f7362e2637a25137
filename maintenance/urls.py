"""URLs of the maintenance app: one list per part, joined here (checklists, runbooks and executions, incidents)."""

from __future__ import annotations

from django.urls import path

from .urls_security import urlpatterns as security_urlpatterns
from .views import checklists, incidents, runbooks

app_name = "maintenance"


checklist_urls = [
    path("checklists/", checklists.checklists, name="checklists"),
    path("checklists/history/", checklists.history, name="checklist_history"),
    path("checklists/periods/<int:pk>/", checklists.period, name="period"),
    path("checklists/items/<int:pk>/tick/", checklists.item_tick, name="item_tick"),
    path("checklists/items/<int:pk>/untick/", checklists.item_untick, name="item_untick"),
    path("checklists/<slug:cadence>/edit/", checklists.checklist_edit, name="checklist_edit"),
]

runbook_urls = [
    path("runbooks/", runbooks.runbooks, name="runbooks"),
    path("runbooks/new/", runbooks.runbook_new, name="runbook_new"),
    path("runbooks/open/", runbooks.runbook_open, name="runbook_open"),
    path("runbooks/<slug:slug>/", runbooks.runbook, name="runbook"),
    path("runbooks/<slug:slug>/edit/", runbooks.runbook_edit, name="runbook_edit"),
    path("runbooks/<slug:slug>/v<int:number>/", runbooks.runbook_version, name="runbook_version"),
    path("runbooks/<slug:slug>/start/", runbooks.execution_start, name="execution_start"),
    path("executions/", runbooks.executions, name="executions"),
    path("executions/<int:pk>/", runbooks.execution, name="execution"),
    path("executions/<int:pk>/steps/<int:position>/done/", runbooks.step_done, name="step_done"),
    path("executions/<int:pk>/steps/<int:position>/skip/", runbooks.step_skip, name="step_skip"),
    path("executions/<int:pk>/steps/<int:position>/reopen/", runbooks.step_reopen, name="step_reopen"),
    path("executions/<int:pk>/finish/", runbooks.execution_finish, name="execution_finish"),
]

incident_urls = [
    path("incidents/", incidents.incidents, name="incidents"),
    path("incidents/<int:pk>/", incidents.incident, name="incident"),
    path("incidents/<int:pk>/postmortem/", incidents.postmortem_edit, name="postmortem_edit"),
    path("incidents/<int:pk>/postmortem.md", incidents.incident_markdown, name="incident_markdown"),
]

urlpatterns = [*checklist_urls, *runbook_urls, *incident_urls, *security_urlpatterns]
