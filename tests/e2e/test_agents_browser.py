"""Browser: the Agents page against the demo target (a memory leak, the chain), Test all, and the log tail."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring.agents import catalog, chain, polling
from monitoring.agents.rollups import rollup
from monitoring.metrics.evaluation import evaluate
from monitoring.models import Agent, LogLine, ModelProvider
from tests.agents.helpers import control, demo_server, ensure_agents

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agents_page_shows_a_leak_the_chain_and_test_all(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    ensure_agents()
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    with demo_server() as demo:
        call_command("seed_demo", target_url=demo.url, portal_url=live_server.url, stdout=io.StringIO())
        ModelProvider.objects.update(failure_threshold=1)
        control(demo, agent_fault="leak", agent="content")
        control(demo, runs=12)
        control(demo, mode="500", component="openai")
        polling.poll(list(Agent.objects.all()))
        chain.check(ModelProvider.objects.all())
        rollup()
        catalog.compute()
        evaluate()

        sign_in(page, users["viewer"])
        page.goto(f"{live_server.url}/agents/")
        content = page.get_by_test_id("agent-content")
        assert content.get_by_test_id("agent-state").text_content().strip() == "critical"
        memory = content.get_by_test_id("memory")
        assert "err" in memory.get_attribute("class") and int(memory.inner_text().split()[0]) > 500
        assert "Agent Memory is" in content.inner_text()
        assert page.get_by_test_id("active-provider").text_content() == "anthropic"
        assert page.locator('[data-testid=chain-strip] g[data-provider="openai"]').get_attribute("data-state") == "out"
        assert page.locator("[data-testid=chain-strip] g[data-active]").get_attribute("data-provider") == "anthropic"
        assert page.get_by_test_id("test-all").count() == 0
        assert page.locator(".agent-card svg.spark").count() >= 5 * 6
        page.screenshot(path=str(shots / "agents-page.png"), full_page=True)

        control(demo, mode="ok", component="openai")
        ModelProvider.objects.filter(name="openai").update(out_until=timezone.now())  # the cooldown is over
        page.context.clear_cookies()
        sign_in(page, users["editor"])
        page.goto(f"{live_server.url}/agents/")
        page.get_by_test_id("test-all").click()
        page.wait_for_load_state("networkidle")
        assert "Test all: tested 3 provider(s); failing: none." in page.inner_text(".messages")
        assert page.get_by_test_id("active-provider").text_content() == "openai"

        page.goto(f"{live_server.url}/")
        page.wait_for_selector("[data-testid=dashboard-agents] [data-agent=content]")
        assert "runs/h" in page.inner_text("[data-testid=dashboard-agents]")
        page.screenshot(path=str(shots / "dashboard-agents.png"), full_page=True)


def test_log_view_tails_new_lines_without_reload(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    ensure_agents()
    from tests.agents.helpers import tie_agents

    svc = tie_agents()
    content = Agent.objects.get(slug="content")
    LogLine.objects.create(service=svc, agent=content, at=timezone.now(), level="info", message="first line")
    sign_in(page, users["viewer"])
    page.goto(f"{live_server.url}/logs/?level=info")
    assert "first line" in page.inner_text("#log-rows")
    page.evaluate("window.__notReloaded = true")
    LogLine.objects.create(service=svc, agent=content, at=timezone.now(), level="error", message="tail me please")
    LogLine.objects.create(service=svc, at=timezone.now(), level="debug", message="below the filter")
    page.wait_for_function("document.querySelector('#log-rows').innerText.includes('tail me please')", timeout=15000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.locator("#log-rows tr").first.inner_text().count("tail me please") == 1
    assert "below the filter" not in page.inner_text("#log-rows")
    page.screenshot(path=str(Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "logs.png"), full_page=True)
