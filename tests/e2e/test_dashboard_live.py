"""Browser: the dashboard turns a service red by itself (htmx polling) when the demo target goes down."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from monitoring.management.commands.demo_target import DemoServer
from monitoring.models import Service
from monitoring.services.dispatch import probe_now, run_due
from monitoring.services.rollups import rollup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo() -> Any:
    server = DemoServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_dashboard_shows_a_service_going_down_without_reload(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], demo: DemoServer, tmp_path: Path
) -> None:
    call_command("seed_demo", target_url=demo.url, portal_url=live_server.url, stdout=io.StringIO())
    run_due()
    rollup()
    assert Service.objects.get(slug="demo-api").status == "up"

    sign_in(page, users["viewer"])
    badge = page.get_by_test_id("status-demo-api")
    assert badge.text_content().strip() == "up"
    page.evaluate("window.__notReloaded = true")
    # The hour that met the target is drawn in the "up" colour (CSS from portal.css, not black).
    fill = page.eval_on_selector('tr[data-service="demo-frontend"] svg.bars .cell-up', "e => getComputedStyle(e).fill")
    assert fill == "rgb(31, 157, 85)"

    httpx.post(f"{demo.url}/_control", json={"mode": "down", "component": "api"}, timeout=5)
    api = Service.objects.get(slug="demo-api")
    for _ in range(api.fail_threshold):  # what the beat dispatcher does on schedule
        probe_now([Service.objects.get(pk=api.pk)])
    assert Service.objects.get(pk=api.pk).status == "down"

    page.wait_for_function(
        "document.querySelector('[data-testid=status-demo-api]').textContent.trim() === 'down'", timeout=15000
    )
    assert page.evaluate("window.__notReloaded") is True
    row = page.locator('tr[data-service="demo-api"]')
    assert "server closed the connection" in row.inner_text()
    assert page.get_by_test_id("count-down").text_content().strip().startswith("1 ")
    # Worst first: the down service is now the first row.
    assert page.locator("tr[data-service]").first.get_attribute("data-service") == "demo-api"
    shot = Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "dashboard-down.png"
    page.screenshot(path=str(shot), full_page=True)

    page.goto(f"{live_server.url}/services/demo-api/")
    assert page.get_by_test_id("service-status").text_content().strip() == "down"
    assert "2 failed checks in a row" in page.get_by_test_id("flips").inner_text()
