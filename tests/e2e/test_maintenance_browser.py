"""Browser: an editor ticks a daily item with a note and a viewer sees it ticked but cannot untick it;
an editor starts "Service Is Down" from a down alert's runbook link and finishes it with a post-mortem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maintenance.models import Incident, PeriodItem
from maintenance.seed import ensure_content
from monitoring.models import Alert
from monitoring.public import raise_alert
from tests.monitoring.services.factories import ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/maintenance-e2e")


@pytest.fixture(autouse=True)
def _content(db: Any) -> None:
    ensure_content()  # transactional tests start from flushed tables


def test_editor_ticks_daily_item_viewer_sees_it_and_cannot_untick(
    page: Any, browser: Any, live_server: Any, sign_in: Any, users: dict[str, Any]
) -> None:
    SHOTS.mkdir(exist_ok=True)
    sign_in(page, users["editor"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Checklists", exact=True).click()
    daily = page.get_by_test_id("checklist-daily")
    item = daily.locator('[data-item-text="Monitor error rates"]')
    assert item.get_by_role("button", name="Tick").is_visible()
    item.get_by_placeholder("Note (optional)").fill("0.02 % on the API, under target")
    item.get_by_role("button", name="Tick").click()
    page.wait_for_load_state("networkidle")
    assert "Ticked “Monitor error rates”" in page.locator(".messages").inner_text()
    item = page.get_by_test_id("checklist-daily").locator('[data-item-text="Monitor error rates"]')
    assert "ticked by eddie-editor" in item.get_by_test_id("ticked-by").inner_text()
    assert item.get_by_test_id("tick-note").inner_text() == "0.02 % on the API, under target"
    assert item.get_by_role("button", name="Untick").is_visible()
    page.screenshot(path=str(SHOTS / "checklists-editor.png"), full_page=True)

    viewer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    viewer = viewer_context.new_page()
    try:
        sign_in(viewer, users["viewer"])
        viewer.goto(f"{live_server.url}/maintenance/checklists/")
        row = viewer.get_by_test_id("checklist-daily").locator('[data-item-text="Monitor error rates"]')
        assert row.get_by_label("ticked").is_visible()
        assert "ticked by eddie-editor" in row.get_by_test_id("ticked-by").inner_text()
        assert "0.02 % on the API" in row.get_by_test_id("tick-note").inner_text()
        assert viewer.get_by_role("button", name="Untick").count() == 0
        assert viewer.get_by_role("button", name="Tick").count() == 0
        pk = PeriodItem.objects.get(text="Monitor error rates", period__checklist__cadence="daily").pk
        status = viewer.evaluate(
            """async (url) => {
                const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='))?.split('=')[1] || '';
                const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}, body: new URLSearchParams({note: 'x'})});
                return r.status;
            }""",
            f"{live_server.url}/maintenance/checklists/items/{pk}/untick/",
        )
        assert status == 403
        viewer.screenshot(path=str(SHOTS / "checklists-viewer.png"), full_page=True)
    finally:
        viewer_context.close()
    assert PeriodItem.objects.get(pk=pk).ticked_at is not None


def test_start_service_is_down_from_alert_and_finish_with_post_mortem(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any]
) -> None:
    SHOTS.mkdir(exist_ok=True)
    api = ServiceFactory(slug="api", name="API")
    alert = raise_alert(
        "service:api:down", summary="API is down: HTTP 503", source="monitoring", service=api, runbook="Service Is Down"
    )
    sign_in(page, users["editor"])
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    page.get_by_test_id("runbook").get_by_role("link", name="Service Is Down").click()
    page.wait_for_load_state("networkidle")
    start = page.get_by_test_id("start-card")
    assert f"#{alert.pk}" in start.inner_text() and "API is down: HTTP 503" in start.inner_text()
    # Commands are code blocks with a copy button.
    assert page.locator(".markdown pre").count() == 4
    assert page.get_by_role("button", name="Copy this command").count() == 4
    page.screenshot(path=str(SHOTS / "runbook-from-alert.png"), full_page=True)
    start.get_by_role("button", name="Start for this alert").click()
    page.wait_for_load_state("networkidle")
    steps = page.get_by_test_id("step")
    assert steps.count() == 4
    first = steps.nth(0)
    first.get_by_label("Note").fill("API container restarting in a loop")
    first.get_by_label("Pasted output (optional)").fill("$ railway logs\nError: out of memory (exit 137)")
    first.get_by_role("button", name="Done").click()
    page.wait_for_load_state("networkidle")
    for n in (1, 2):  # the next pending step's form is open
        page.get_by_test_id("step").nth(n).get_by_role("button", name="Done").click()
        page.wait_for_load_state("networkidle")
    last = page.get_by_test_id("step").nth(3)
    last.get_by_label("Reason for skipping step 4").fill("back up after the restart")
    last.get_by_role("button", name="Skip").click()
    page.wait_for_load_state("networkidle")
    states = [s.inner_text() for s in page.get_by_test_id("step-state").all()]
    assert states == ["DONE", "DONE", "DONE", "SKIPPED"] or [s.lower() for s in states] == [
        "done",
        "done",
        "done",
        "skipped",
    ]
    assert "exit 137" in page.get_by_test_id("step-output").first.inner_text()
    page.select_option("#id_outcome", "resolved")
    page.get_by_role("button", name="Finish and write the post-mortem").click()
    page.wait_for_load_state("networkidle")

    page.get_by_label("Summary").fill("API down 7 minutes: out of memory after v42")
    page.get_by_label("Impact").fill("Every API request failed")
    page.get_by_label("Root cause").fill("v42 doubled the in-memory cache")
    page.get_by_label("What went well").fill("The runbook's first step showed the OOM")
    page.get_by_label("What to prevent (so it does not recur)").fill("Alert at 80 % memory")
    row = page.get_by_test_id("followup-row").first
    row.locator("input[name$='-text']").fill("Add a memory alert at 80 %")
    row.locator("input[name$='-owner']").fill("eddie-editor")
    page.get_by_role("button", name="Save post-mortem").click()
    page.wait_for_load_state("networkidle")

    incident = Incident.objects.get()
    assert page.url.endswith(f"/maintenance/incidents/{incident.pk}/")
    assert page.get_by_test_id("root-cause").inner_text() == "v42 doubled the in-memory cache"
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Alert fired" in timeline and "Step 1 done: Check service status" in timeline
    assert "Skipped step 4" in timeline and "exit 137" in timeline
    page.screenshot(path=str(SHOTS / "postmortem.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden()
    page.screenshot(path=str(SHOTS / "postmortem-print.png"), full_page=True)
    assert incident.alert_id == alert.pk and incident.state == "closed"
    assert incident.postmortem.actions.get().owner == "eddie-editor"
    assert Alert.objects.get(pk=alert.pk).dedup_key == "service:api:down"


def test_script_in_a_runbook_does_not_run_in_the_browser(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any]
) -> None:
    from maintenance.models import Runbook
    from maintenance.runbooks import save_version

    book = Runbook.objects.get(slug="service-is-down")
    save_version(
        book,
        "<script>window.__owned = 1</script>\n\n"
        '1. Check <img src=x onerror="window.__owned = 2"> status\n\n'
        "2. [details](javascript:window.__owned=3)\n",
        author=users["admin"],
    )
    sign_in(page, users["viewer"])
    page.goto(f"{live_server.url}/maintenance/runbooks/{book.slug}/")
    page.wait_for_load_state("networkidle")
    body = page.get_by_test_id("runbook-body")
    assert "<script>window.__owned = 1</script>" in body.inner_text()  # shown as text
    assert body.get_by_role("link", name="details").count() == 0  # a javascript: link is not made a link
    assert page.evaluate("window.__owned") is None
    assert page.locator("[data-testid=runbook-body] img, [data-testid=runbook-body] script").count() == 0
