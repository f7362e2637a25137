"""Browser: the dashboard turns a service red by itself (htmx polling) when the demo target goes down,
with refreshes that send only what changed; and a large board's collapsed groups open and page in place."""

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
from monitoring.services.dispatch import probe_now
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
    # Every seeded service probed once now (new services' first due times are spread over their interval).
    probe_now(list(Service.objects.filter(enabled=True)))
    rollup()
    assert Service.objects.get(slug="demo-api").status == "up"

    sign_in(page, users["viewer"])
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/dashboard/services/" in r.url else None)
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
    # Worst first: the down service is now the first row, in the down group, and it left the up group.
    assert page.locator("tr[data-service]").first.get_attribute("data-service") == "demo-api"
    assert page.locator('#g-s-down tr[data-service="demo-api"]').count() == 1
    assert page.locator('#g-s-up tr[data-service="demo-api"]').count() == 0
    # A second service going down joins the same group after it, in name order, still without a reload.
    frontend = Service.objects.get(slug="demo-frontend")
    httpx.post(f"{demo.url}/_control", json={"mode": "down", "component": "frontend"}, timeout=5)
    for _ in range(frontend.fail_threshold):
        probe_now([Service.objects.get(pk=frontend.pk)])
    page.wait_for_function("document.querySelectorAll('#g-s-down tr[data-service]').length === 2", timeout=15000)
    assert [r.get_attribute("data-service") for r in page.locator("#g-s-down tr[data-service]").all()] == [
        "demo-api",
        "demo-frontend",
    ]
    assert page.get_by_test_id("count-down").text_content().strip().startswith("2 ")
    # Between changes the refresh is a 304 (nothing sent); every answer was a 200 or a 304.
    page.wait_for_timeout(5500)
    assert 304 in statuses and set(statuses) <= {200, 304}
    assert page.evaluate("window.__notReloaded") is True
    shot = Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "dashboard-down.png"
    page.screenshot(path=str(shot), full_page=True)

    page.goto(f"{live_server.url}/services/demo-api/")
    assert page.get_by_test_id("service-status").text_content().strip() == "down"
    assert "2 failed checks in a row" in page.get_by_test_id("flips").inner_text()


def test_a_large_board_opens_and_pages_a_collapsed_group_in_place(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitoring.dashboard import board

    monkeypatch.setattr(board, "SMALL_BOARD", 0)  # five services behave like thousands: collapse, 2 a page
    monkeypatch.setattr(board, "GROUP_ROWS", 2)
    for i in range(5):
        Service.objects.create(name=f"Up {i}", slug=f"up-{i}", url=f"http://127.0.0.1:9/{i}", status="up")
    Service.objects.create(name="Down 0", slug="down-0", url="http://127.0.0.1:9/d", status="down")
    sign_in(page, users["viewer"])
    page.evaluate("window.__notReloaded = true")
    assert [r.get_attribute("data-service") for r in page.locator("tr[data-service]").all()] == ["down-0"]
    toggle = page.locator("#gt-s-up")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.wait_for_function("document.querySelectorAll('#g-s-up tr[data-service]').length === 2")
    assert page.url.endswith("/?open=up")
    page.locator("#gf-s-up a[rel=next]").click()
    page.wait_for_function("document.querySelector('#g-s-up tr[data-service]').dataset.service === 'up-2'")
    assert page.url.endswith("/?open=up&page=up%3A2")
    assert page.locator("#gt-s-up").get_attribute("aria-expanded") == "true"
    # The refresh keeps what was opened: a flip on page 2 shows up there.
    Service.objects.filter(slug="up-3").update(status_reason="checked", last_latency_ms=321.0, last_ok=True)
    page.wait_for_function("document.querySelector('tr[data-service=up-3]').textContent.includes('321 ms')")
    assert page.evaluate("window.__notReloaded") is True
    page.reload()
    assert [r.get_attribute("data-service") for r in page.locator("tr[data-service]").all()] == [
        "down-0",
        "up-2",
        "up-3",
    ]
