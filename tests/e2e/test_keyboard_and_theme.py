"""Browser: the console works with the keyboard alone (skip link, visible focus, acting on an alert and
ticking a checklist item with Tab and Enter), and follows or pins a colour scheme without a flash."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.a11y import new_context, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUS_JS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || '').trim(),
          testid: el.dataset.testid || '', outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def tab_to(page: Any, wanted: Any, limit: int = 60) -> dict[str, Any]:
    """Presses Tab until ``wanted(focus)`` holds; every stop on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_JS)
        assert focus["outline"] != "none" and focus["width"] >= 2, f"focus not visible on {focus}"
        if wanted(focus):
            return focus
    raise AssertionError(f"not reached with {limit} presses of Tab")


def test_keyboard_alone_acknowledges_an_alert_and_ticks_an_item(
    browser: Any, live_server: Any, users: dict[str, Any]
) -> None:
    from maintenance.models import PeriodItem
    from monitoring.alerts.public import raise_alert
    from tests.maintenance.fixtures import daily_period

    alert = raise_alert("metric:disk_space", summary="Disk space 91%", source="metrics", severity="warning")
    period = daily_period()
    context = new_context(browser)
    sign_in_browser(context, users["editor"], live_server.url)
    page = context.new_page()

    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    focus = tab_to(page, lambda f: True)
    assert focus["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab_to(page, lambda f: f["id"] == "ack-note")
    page.keyboard.type("on it, from the keyboard")
    tab_to(page, lambda f: f["text"] == "Acknowledge")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    assert page.get_by_test_id("alert-state").inner_text().strip().lower() == "acknowledged"

    page.goto(f"{live_server.url}/maintenance/checklists/periods/{period.pk}/")
    tab_to(page, lambda f: f["testid"] == "tick")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert PeriodItem.objects.filter(period=period, ticked_at__isnull=False).count() == 1
    context.close()


def test_colour_scheme_follows_the_system_and_can_be_pinned(
    browser: Any, live_server: Any, users: dict[str, Any]
) -> None:
    context = new_context(browser, scheme="dark")
    sign_in_browser(context, users["viewer"], live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/alerts/")
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(15, 20, 29)"  # the dark palette, from prefers-color-scheme

    pick = page.get_by_label("Theme")
    pick.focus()
    pick.select_option("light")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert page.evaluate(background) == "rgb(245, 246, 248)"
    assert {c["name"]: c["value"] for c in context.cookies()}.get("theme") == "light"
    # The server writes the pinned scheme into the page itself: no flash of the other one.
    html = page.request.get(f"{live_server.url}/alerts/").text()
    assert '<html lang="en" data-theme="light">' in html
    page.reload()
    assert page.evaluate(background) == "rgb(245, 246, 248)"

    page.get_by_label("Theme").select_option("")
    assert page.evaluate("document.documentElement.dataset.theme") is None
    assert "theme" not in {c["name"] for c in context.cookies()}
    assert page.evaluate(background) == "rgb(15, 20, 29)"
    context.close()
