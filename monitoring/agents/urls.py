"""URLs of the agents part: console pages, the runbook's agent and model endpoints, ingest and OTLP."""

from __future__ import annotations

from django.urls import path

from . import api, api_runbook, otlp_views, views

urlpatterns = [
    path("agents/", views.agents, name="agents"),
    path("agents/row/", views.agents_row, name="agents_row"),
    path("agents/test-all/", views.agents_test_all, name="agents_test_all"),
    path("agents/new/", views.agent_create, name="agent_create"),
    path("agents/<slug:slug>/edit/", views.agent_edit, name="agent_edit"),
    path("logs/", views.logs, name="logs"),
    path("logs/tail/", views.logs_tail, name="logs_tail"),
    path("api/v1/ingest/agent-runs", api.ingest_runs, name="api_ingest_agent_runs"),
    path("api/v1/ingest/logs", api.ingest_logs, name="api_ingest_logs"),
    path("api/agents/status", api_runbook.agents_status, name="api_agents_status"),
    path("api/agents/memory/stats", api_runbook.memory_stats, name="api_agents_memory"),
    path("api/agents/logs", api_runbook.agent_logs, name="api_agents_logs"),
    path("api/agents/<slug:name>/status", api_runbook.agent_status, name="api_agent_status"),
    path("api/models/status", api_runbook.models_status, name="api_models_status"),
    path("api/models/test-all", api_runbook.models_test_all, name="api_models_test_all"),
    path("v1/traces", otlp_views.traces, name="otlp_traces"),
    path("v1/logs", otlp_views.logs, name="otlp_logs"),
]
