"""Browser: sign in, see the dashboard, and be refused an admin page as a viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_and_sees_dashboard(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    sign_in(page, users["admin"])
    assert page.url.rstrip("/") == live_server.url
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert page.get_by_test_id("user-role").inner_text() == "Admin"
    assert page.get_by_role("link", name="Audit").is_visible()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def test_viewer_is_refused_admin_pages(page: Any, live_server: Any, sign_in: Any, users: dict[str, Any]) -> None:
    sign_in(page, users["viewer"])
    assert page.get_by_test_id("user-role").inner_text() == "Viewer"
    # The admin-only sections are not offered...
    assert page.get_by_role("link", name="Audit").count() == 0
    # ...and going there directly is refused.
    response = page.goto(f"{live_server.url}/users/")
    assert response is not None and response.status == 403
    assert "Not allowed" in page.locator("h1").inner_text()
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url


def test_wrong_password_then_lockout_message(page: Any, live_server: Any, users: dict[str, Any], settings: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "vera-viewer")
        page.fill("#id_password", "wrong-password")
        page.click("button[type=submit]")
    assert page.get_by_test_id("locked-out").is_visible()
