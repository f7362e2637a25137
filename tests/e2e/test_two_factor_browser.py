"""Browser: enrol an authenticator app from the page's key, then sign in with password and TOTP code.

The codes are computed in the test from the secret the page shows (RFC 6238, django-otp's TOTP),
as an authenticator app would.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import TOTP

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def totp_code(secret_text: str, steps_ahead: int = 0) -> str:
    plain = secret_text.replace(" ", "")
    key = base64.b32decode(plain + "=" * (-len(plain) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def test_totp_enrolment_and_sign_in(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    editor = users["editor"]
    sign_in(page, editor)
    page.goto(f"{live_server.url}/account/two-factor/")
    assert page.get_by_test_id("totp-qr").locator("svg").is_visible()
    page.screenshot(path=str(tmp_path / "enrol.png"), full_page=True)
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.fill("#id_code", totp_code(secret))
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    assert codes.count() == 10
    page.screenshot(path=str(tmp_path / "recovery-codes.png"), full_page=True)
    page.get_by_role("link", name="I have saved them").click()
    assert page.get_by_test_id("two-factor-on").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", editor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/login/verify/")
    assert "Second step" in page.locator("h1").inner_text()
    page.fill("#id_code", "000000" if totp_code(secret, 1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_test_id("code-error").is_visible()
    time.sleep(1.1)  # django-otp throttles the device for a second after a wrong code
    # The enrolment code's time step is used up; the app's next code is accepted (one step of drift).
    page.fill("#id_code", totp_code(secret, 1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
    assert page.url.rstrip("/") == live_server.url
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert page.get_by_test_id("user-role").inner_text() == "Editor"
