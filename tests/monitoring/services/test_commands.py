"""Commands: demo_target (endpoints, failure modes, control), seed_demo (idempotent), probe (table, JSON, exit)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command

from monitoring.management.commands.demo_target import DemoServer
from monitoring.models import CheckResult, Service, ServiceFlip
from monitoring.services.choices import ServiceStatus


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    server = DemoServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def control(demo: DemoServer, **params: Any) -> httpx.Response:
    return httpx.post(f"{demo.url}/_control", json=params, timeout=5)


def test_demo_target_serves_the_runbook_endpoints(demo: DemoServer) -> None:
    get = lambda path: httpx.get(demo.url + path, timeout=5)  # noqa: E731
    assert get("/api/health").json()["status"] == "healthy"
    assert 'id="root"' in get("/").text
    assert {a["name"] for a in get("/api/agents/status").json()["agents"]} == {
        "content",
        "financial",
        "market",
        "compliance",
        "qa",
    }
    assert get("/api/agents/content/status").json()["name"] == "content"
    assert get("/api/agents/nobody/status").status_code == 404
    assert get("/api/agents/memory/stats").json()["limit_mb"] == 500
    logs = get("/api/agents/logs?level=error&limit=2").json()
    assert logs["level"] == "error" and len(logs["logs"]) == 2
    assert get("/api/agents/logs?level=loud").status_code == 400
    assert get("/api/models/status").json()["fallback_chain"] == ["ollama", "openai", "anthropic"]
    assert get("/api/models/test-all").json()["all_ok"] is True
    assert get("/api/tags").json()["models"][0]["name"] == "llama3.1:8b"


def test_demo_target_failure_modes_per_component(demo: DemoServer) -> None:
    assert control(demo, mode="unhealthy", component="api").json()["modes"]["api"] == "unhealthy"
    assert httpx.get(demo.url + "/api/health", timeout=5).json()["status"] == "unhealthy"
    assert httpx.get(demo.url + "/api/tags", timeout=5).json()["models"]  # other components untouched
    control(demo, mode="500")
    assert httpx.get(demo.url + "/api/tags", timeout=5).status_code == 500
    control(demo, mode="down", component="frontend")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(demo.url + "/", timeout=5)
    control(demo, mode="slow", slow_seconds=0.2)
    assert httpx.get(demo.url + "/api/health", timeout=5).json()["status"] == "healthy"
    control(demo, mode="flapping", flap_seconds=600)  # first half of the period: healthy
    assert httpx.get(demo.url + "/api/health", timeout=5).status_code == 200
    assert httpx.post(f"{demo.url}/_control?mode=ok&component=api", timeout=5).json()["modes"]["api"] == "ok"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"mode": "exploded"}, "mode must be one of ok, slow, down, 500, 429, unhealthy, flapping"),
        (
            {"mode": "ok", "component": "db"},
            "component must be all or one of api, frontend, agents, models, ollama, openai, anthropic",
        ),
        ({"slow_seconds": "soon"}, "slow_seconds must be a number"),
    ],
)
def test_demo_control_rejects_bad_requests(demo: DemoServer, params: dict[str, Any], error: str) -> None:
    response = control(demo, **params)
    assert response.status_code == 400 and response.json()["error"] == error


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_keeps_edits(demo: DemoServer) -> None:
    out = io.StringIO()
    call_command("seed_demo", target_url=demo.url, portal_url="http://127.0.0.1:8000", stdout=out)
    slugs = set(Service.objects.values_list("slug", flat=True))
    assert {
        "demo-api",
        "demo-frontend",
        "demo-agents",
        "demo-agent-content",
        "demo-model-router",
        "demo-ollama",
        "portal-api",
    } <= slugs
    assert Service.objects.get(slug="demo-agent-content").parent.slug == "demo-agents"
    Service.objects.filter(slug="demo-api").update(interval_seconds=45)
    call_command("seed_demo", target_url=demo.url, stdout=out)
    assert set(Service.objects.values_list("slug", flat=True)) == slugs
    assert Service.objects.get(slug="demo-api").interval_seconds == 45
    assert "0 service(s) created" in out.getvalue()
    with pytest.raises(CommandError, match=r"--target-url: Only http:// and https:// URLs can be probed\."):
        call_command("seed_demo", target_url="ftp://demo")


@pytest.mark.django_db
def test_probe_command_table_json_and_exit_status(demo: DemoServer) -> None:
    call_command("seed_demo", target_url=demo.url, stdout=io.StringIO())
    Service.objects.exclude(slug__startswith="demo-").delete()
    out = io.StringIO()
    call_command("probe", "--all", stdout=out)
    table = out.getvalue()
    assert table.splitlines()[0].split() == ["SERVICE", "STATUS", "RESULT", "LATENCY", "DETAIL"]
    assert "demo-api" in table and "12 probed" in table and "0 failed" in table
    control(demo, mode="down", component="api")
    call_command("probe", "demo-api", "--json", stdout=io.StringIO())  # first failure: still up
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("probe", "demo-api", "--json", stdout=out)
    assert exited.value.code == 1
    line = json.loads(out.getvalue())
    assert line["slug"] == "demo-api" and line["status"] == "down" and line["status_changed"] is True
    assert line["error"] == "server closed the connection without a response"
    assert ServiceFlip.objects.filter(service__slug="demo-api", new_status=ServiceStatus.DOWN).count() == 1
    with pytest.raises(CommandError, match="unknown service slug"):
        call_command("probe", "nope")
    before = CheckResult.objects.count()
    out = io.StringIO()
    call_command("probe", stdout=out)  # without slugs: only what is due, and every probe above restarted its interval
    assert "Nothing to probe" in out.getvalue()
    assert CheckResult.objects.count() == before
