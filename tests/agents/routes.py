"""Role-matrix routes of the agents part: ingest, OTLP, the runbook's endpoints, console pages."""

from __future__ import annotations

from typing import Any

from tests.role_matrix import API_EDIT, API_READ, EDIT, READ, Route, on_success

JSON = "application/json"
CREATED = {**API_EDIT, "editor": 201, "admin": 201}


def _agents_service(users: dict[str, Any]) -> dict[str, Any]:
    from tests.agents.helpers import tie_agents

    tie_agents()
    return {}


def _agent(users: dict[str, Any]) -> dict[str, Any]:
    return {"slug": "content"}


def _name(users: dict[str, Any]) -> dict[str, Any]:
    return {"name": "content"}


OTLP_OK = {**API_EDIT}  # 200 for editors and admins
AGENT_FORM = {"slug": "planner", "name": "Planner agent", "kind": "other", "poll_interval_seconds": 30, "position": 9}

ROUTES = [
    Route("monitoring:agents", READ),
    Route("monitoring:agents_row", READ),
    Route("monitoring:agents_test_all", on_success(EDIT, 302), "POST"),
    Route("monitoring:agent_create", EDIT),
    Route("monitoring:agent_create", on_success(EDIT, 302), "POST", data=AGENT_FORM, note="save"),
    Route("monitoring:agent_edit", EDIT, setup=_agent),
    Route(
        "monitoring:agent_edit",
        on_success(EDIT, 302),
        "POST",
        setup=_agent,
        data={**AGENT_FORM, "slug": "content", "name": "Content Agent", "kind": "content"},
        note="save",
    ),
    Route("monitoring:logs", READ),
    Route("monitoring:logs_tail", READ),
    Route("monitoring:api_agents_status", API_READ),
    Route("monitoring:api_agent_status", API_READ, setup=_name),
    Route("monitoring:api_agents_memory", API_READ),
    Route("monitoring:api_agents_logs", API_READ),
    Route("monitoring:api_models_status", API_READ),
    Route("monitoring:api_models_test_all", API_READ),
    Route("monitoring:api_models_test_all", API_EDIT, "POST", note="run now"),
    Route("monitoring:otlp_traces", OTLP_OK, "POST", data={"resourceSpans": []}, content_type=JSON),
    Route("monitoring:otlp_logs", OTLP_OK, "POST", data={"resourceLogs": []}, content_type=JSON),
    Route(
        "monitoring:api_ingest_agent_runs",
        CREATED,
        "POST",
        data=[{"agent": "content", "duration_ms": 1200}],
        content_type=JSON,
    ),
    Route(
        "monitoring:api_ingest_logs",
        CREATED,
        "POST",
        setup=_agents_service,
        data=[{"service": "agents", "level": "info", "message": "hello"}],
        content_type=JSON,
    ),
]
