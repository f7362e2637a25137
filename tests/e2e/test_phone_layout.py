"""Browser: at 390 px wide (a phone) the dashboard, the alerts list, an alert page and the checklists fit
the screen: the page does not scroll sideways, no element reaches past the right edge, and each
shows a name, a state and its main action. A full-page screenshot of each is saved (SCREENSHOT_DIR)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.a11y import new_context, populate, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390

# Elements whose box reaches past the viewport's edges (visually hidden ones are 1 px and stay inside).
OVERFLOW_JS = """width => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > width + 0.5 || r.left < -0.5) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      out.push(`${name} [${Math.round(r.left)}..${Math.round(r.right)}]`);
    }
  }
  return out;
}"""


def check_fits(page: Any, name: str, shots: Path) -> None:
    page.screenshot(path=str(shots / f"phone-{name}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= WIDTH, f"{name}: the page is {scroll_width} px wide at {WIDTH} px"
    wide = page.evaluate(OVERFLOW_JS, WIDTH)
    assert not wide, f"{name}: elements past the {WIDTH} px edge: {wide[:10]}"


def within_screen(locator: Any) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5


def test_phone_pages_fit_390_px(browser: Any, live_server: Any, users: dict[str, Any], tmp_path: Path) -> None:
    from monitoring.models import Alert

    populate(users, live_server.url)
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    context = new_context(browser, width=WIDTH, height=844)
    sign_in_browser(context, users["editor"], live_server.url)
    page = context.new_page()
    base = live_server.url

    page.goto(f"{base}/", wait_until="load")
    check_fits(page, "dashboard", shots)
    card = page.locator("#svc-table tr[data-service]").first  # the first service, what needs attention first
    assert within_screen(card.locator("th a"))  # its name, which opens it
    assert within_screen(card.locator(".badge"))  # its state
    assert within_screen(card.locator("svg").first)  # the 24 h uptime strip, not cut
    assert card.locator(".badge").inner_text().strip().lower() in {"down", "degraded", "unknown"}

    page.goto(f"{base}/alerts/", wait_until="load")
    check_fits(page, "alerts", shots)
    row = page.get_by_test_id("alert-row").first
    assert within_screen(row.locator("a").first)  # the alert's name, which opens it
    assert within_screen(row.locator(".badge").first)  # its state

    alert = Alert.objects.filter(state="firing").order_by("pk").first()
    assert alert is not None
    page.goto(f"{base}/alerts/{alert.pk}/", wait_until="load")
    check_fits(page, "alert", shots)
    assert within_screen(page.locator("h1")) and within_screen(page.get_by_test_id("alert-state"))
    acknowledge = page.get_by_test_id("ack-form").get_by_role("button", name="Acknowledge")
    acknowledge.scroll_into_view_if_needed()
    assert within_screen(acknowledge)

    page.goto(f"{base}/maintenance/checklists/", wait_until="load")
    check_fits(page, "checklists", shots)
    item = page.get_by_test_id("item").nth(1)  # the first is ticked; the second is open
    assert within_screen(item.locator(".mt-item-text")) and within_screen(item.locator(".mt-box"))
    tick = item.get_by_test_id("tick")
    tick.scroll_into_view_if_needed()
    assert within_screen(tick)
    context.close()
