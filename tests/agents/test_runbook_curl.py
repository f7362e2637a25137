"""The runbook's agent and model `curl` lines, run with curl itself against a live portal with a token,
return the documented shapes ("Agent Execution Monitoring" and "Troubleshooting Agent Issues")."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from typing import Any

import pytest
from django.utils import timezone

from monitoring.agents import catalog, chain
from monitoring.agents.demo import seed_agents
from monitoring.agents.rollups import rollup
from monitoring.models import Agent, AgentRun, LogLine, ModelProvider
from tests.agents.helpers import demo_server, ensure_agents, service

pytestmark = pytest.mark.django_db(transaction=True)

# Copied from the runbook, with its host replaced by the portal's.
RUNBOOK_LINES = """
curl https://api.example.com/api/agents/status
curl https://api.example.com/api/agents/content/status
curl https://api.example.com/api/agents/memory/stats
curl https://api.example.com/api/agents/logs?level=error&limit=50
curl https://api.example.com/api/models/status
curl https://api.example.com/api/models/test-all
"""


def curl(url: str, token: str, *extra: str) -> tuple[int, Any]:
    done = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {token}", *extra, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, code = done.stdout.rpartition("\n")
    return int(code), json.loads(body)


@pytest.fixture
def portal(live_server: Any) -> Any:
    ensure_agents()
    svc = service("demo-agent-content")
    Agent.objects.filter(slug="content").update(service=svc)
    now = timezone.now()
    content = Agent.objects.get(slug="content")
    AgentRun.objects.bulk_create(
        AgentRun(
            agent=content,
            started_at=now - dt.timedelta(minutes=i),
            duration_ms=40000 + i * 1000,
            peak_memory_mb=200 + i,
            critique_iterations=2,
            ok=i != 3,
            error="model call failed" if i == 3 else "",
            provider="openai",
            source="api",
        )
        for i in range(10)
    )
    LogLine.objects.create(service=svc, agent=content, at=now, level="error", message="model call failed")
    LogLine.objects.create(service=svc, at=now, level="info", message="started")
    rollup()
    catalog.compute()
    return live_server


def test_every_runbook_line_works_unchanged_with_a_token(portal: Any, token_for: Any) -> None:
    token = token_for("viewer")
    with demo_server() as demo:
        seed_agents(demo.url)
        chain.check(ModelProvider.objects.all())
        answers = {}
        for line in RUNBOOK_LINES.strip().splitlines():
            url = line.split()[1].replace("https://api.example.com", portal.url)
            answers[url.removeprefix(portal.url)] = curl(url, token)
    assert {code for code, _ in answers.values()} == {200}

    _, status = answers["/api/agents/status"]
    assert set(status) == {"status", "agents", "timestamp"} and status["status"] in ("healthy", "degraded")
    content = next(a for a in status["agents"] if a["name"] == "content")
    assert (
        content["runs_1h"] == 10 and content["failed_1h"] == 1 and content["memory_mb"] == 204
    )  # peak of the last 5 minutes
    assert content["last_error"] == "model call failed" and content["p95_execution_seconds"] > 45
    assert {a["name"] for a in status["agents"]} == {"content", "financial", "market", "compliance", "qa"}

    _, one = answers["/api/agents/content/status"]
    assert one["name"] == "content" and one["service"] == "demo-agent-content" and "timestamp" in one

    _, memory = answers["/api/agents/memory/stats"]
    assert memory["limit_mb"] == 500 and memory["agents"]["content"]["memory_mb"] == 204
    assert memory["total_mb"] == 204

    _, logs = answers["/api/agents/logs?level=error&limit=50"]
    assert logs["level"] == "error" and logs["limit"] == 50
    assert [(x["level"], x["agent"], x["message"]) for x in logs["logs"]] == [("error", "content", "model call failed")]

    _, models = answers["/api/models/status"]
    assert models["active_provider"] == "openai" and models["fallback_chain"] == ["openai", "anthropic", "ollama"]
    assert models["usage"]["1h"]["openai"] == {"requests": 10, "share_percent": 100.0}

    _, tested = answers["/api/models/test-all"]
    assert tested["all_ok"] is True and [r["provider"] for r in tested["results"]] == ["openai", "anthropic", "ollama"]


def test_test_all_posts_for_editors_only_and_errors_are_json(portal: Any, token_for: Any) -> None:
    with demo_server() as demo:
        seed_agents(demo.url)
        code, body = curl(f"{portal.url}/api/models/test-all", token_for("viewer"), "-X", "POST")
        assert code == 403 and body["required"] == "monitoring.test_modelprovider"
        code, body = curl(f"{portal.url}/api/models/test-all", token_for("editor"), "-X", "POST")
        assert code == 200 and len(body["results"]) == 3 and body["results"][0]["trigger"] == "test_all"
    code, body = curl(f"{portal.url}/api/agents/nobody/status", token_for("viewer"))
    assert code == 404 and body["error"] == "unknown agent 'nobody'" and "content" in body["agents"]
    code, body = curl(f"{portal.url}/api/agents/logs?level=loud&limit=9999", token_for("viewer"))
    assert code == 400 and set(body["errors"]) == {"level", "limit"} and body["error"].startswith("level: one of")
    code, body = curl(f"{portal.url}/api/agents/status", "opp_not_a_token")
    assert code == 401
