"""Browser: an editor acknowledges an alert with a note; a viewer sees it but cannot act on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitoring.alerts.public import raise_alert
from monitoring.models import Alert
from tests.monitoring.services.factories import ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alert(users: dict[str, Any]) -> Alert:
    api = ServiceFactory(slug="api", name="API")
    return raise_alert(
        "service:api:down", summary="API is down: HTTP 503", source="monitoring", service=api, runbook="Service Is Down"
    )


def test_editor_acknowledges_an_alert_with_a_note(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], alert: Alert, tmp_path: Path
) -> None:
    sign_in(page, users["editor"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts", exact=True).click()
    page.get_by_role("link", name="API is down: HTTP 503").click()
    assert page.get_by_test_id("alert-state").inner_text() == "FIRING"
    assert page.get_by_test_id("runbook").inner_text() == "Service Is Down"
    page.fill("#ack-note", "Restarting the API pod")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("alert-state").inner_text() == "ACKNOWLEDGED"
    assert "Alert acknowledged." in page.locator(".messages").inner_text()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "eddie-editor" in timeline and "Restarting the API pod" in timeline
    page.screenshot(path=str(tmp_path / "alert-acknowledged.png"), full_page=True)
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == users["editor"]


def test_viewer_reads_the_alert_but_cannot_acknowledge_it(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], alert: Alert
) -> None:
    sign_in(page, users["viewer"])
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    assert page.get_by_test_id("alert-state").inner_text() == "FIRING"
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert page.get_by_test_id("read-only").is_visible()
    # Even a hand-made POST from the viewer's signed-in browser is refused.
    status = page.evaluate(
        """async (url) => {
            const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='))?.split('=')[1] || '';
            const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}, body: new URLSearchParams({note: 'x'})});
            return r.status;
        }""",
        f"{live_server.url}/alerts/{alert.pk}/acknowledge/",
    )
    assert status == 403
    alert.refresh_from_db()
    assert alert.state == "firing"
