"""Two-factor sign-in: enrolment with a QR code, TOTP at sign-in, recovery codes, lockout, policy, admin reset."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import segno
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsportal.models import AuditRecord, RecoveryCode, RecoveryCodeDevice
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows, computed from the enrolled secret (RFC 6238)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(client: Client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=page.wsgi_request.user, confirmed=False)
    response = client.post(reverse("two_factor"), {"action": "confirm", "code": code_for(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9-]{14})</code></li>", response.content.decode())
    device.refresh_from_db()
    return device, codes


def password_step(client: Client, user: Any, next_url: str = "") -> Any:
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def test_enrolment_shows_a_qr_code_and_the_secret_then_ten_recovery_codes_once(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["editor"])
    page = client.get(reverse("two_factor"))
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=users["editor"], confirmed=False)
    # The QR code is the otpauth:// URL of the enrolled secret (RFC 6238 parameters, issuer, user).
    assert device.config_url.startswith("otpauth://totp/Ops%20Portal%3Aeddie-editor?secret=")
    assert "&issuer=Ops%20Portal" in device.config_url
    expected_qr = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff")
    assert expected_qr.startswith("<svg") and expected_qr in html
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html).group(1)  # type: ignore[union-attr]
    import base64

    assert base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8)) == device.bin_key
    wrong = client.post(
        reverse("two_factor"), {"action": "confirm", "code": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "That code is not right" in wrong.content.decode()
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    device, codes = enrol(client)
    assert device.confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(device__user=users["editor"]).values_list("digest", flat=True))
    assert len(stored) == 10 and not stored & set(codes)  # only digests are kept
    page = client.get(reverse("two_factor")).content.decode()
    assert 'data-testid="two-factor-on"' in page and "10 of 10 recovery codes unused" in page
    assert not any(code in page for code in codes)  # never shown again
    assert AuditRecord.objects.filter(
        summary__startswith="two-factor sign-in turned on", object_id=str(users["editor"].pk)
    )


def test_sign_in_asks_for_the_code_after_the_password(users: dict[str, Any]) -> None:
    setup = Client()
    setup.force_login(users["viewer"])
    device, _codes = enrol(setup)

    client = Client()
    response = password_step(client, users["viewer"], next_url="/jobs/")
    assert response.status_code == 302 and response["Location"] == reverse("login_verify")
    # The password alone signed nobody in.
    assert client.get(reverse("jobs")).status_code == 302
    assert client.get(reverse("login_verify")).status_code == 200
    response = client.post(reverse("login_verify"), {"code": code_for(device, steps_ahead=1)})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    assert client.get(reverse("jobs")).status_code == 200
    assert AuditRecord.objects.filter(action=AuditRecord.Action.LOGIN, actor_id=users["viewer"].pk).exists()


def test_a_recovery_code_works_once(users: dict[str, Any]) -> None:
    setup = Client()
    setup.force_login(users["viewer"])
    _device, codes = enrol(setup)
    client = Client()
    password_step(client, users["viewer"])
    response = client.post(reverse("login_verify"), {"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    assert RecoveryCodeDevice.objects.get(user=users["viewer"]).remaining() == 9
    again = Client()
    password_step(again, users["viewer"])
    response = again.post(reverse("login_verify"), {"code": codes[3]})
    assert response.status_code == 200 and "That code is not right" in response.content.decode()


def test_lockout_applies_to_the_second_factor(users: dict[str, Any], settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    setup = Client()
    setup.force_login(users["viewer"])
    device, _codes = enrol(setup)
    client = Client()
    password_step(client, users["viewer"])
    good = code_for(device, steps_ahead=1)
    bad = "123456" if good != "123456" else "654321"
    statuses = [client.post(reverse("login_verify"), {"code": bad}).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200] and statuses[2] in (403, 429)
    locked = client.post(reverse("login_verify"), {"code": good})
    assert locked.status_code in (403, 429) and 'data-testid="locked-out"' in locked.content.decode()
    assert client.get(reverse("jobs")).status_code == 302  # still not signed in
    assert AuditRecord.objects.filter(action=AuditRecord.Action.LOGIN_FAILED).count() >= 3


def test_required_for_admins_enrols_during_sign_in(users: dict[str, Any], settings: Any) -> None:
    settings.TWO_FACTOR_REQUIRED = "admins"
    client = Client()
    response = password_step(client, users["admin"])
    assert response["Location"] == reverse("login_enrol")
    page = client.get(reverse("login_enrol"))
    assert 'data-testid="totp-qr"' in page.content.decode()
    device = TOTPDevice.objects.get(user=users["admin"], confirmed=False)
    response = client.post(reverse("login_enrol"), {"code": code_for(device)})
    assert response.status_code == 200 and 'data-testid="recovery-codes"' in response.content.decode()
    assert client.get(reverse("users")).status_code == 200
    # Editors are not asked.
    editor = Client()
    assert password_step(editor, users["editor"])["Location"] == reverse("monitoring:dashboard")


def test_gate_holds_sessions_without_the_second_factor_and_tokens_are_unaffected(
    users: dict[str, Any], settings: Any, token_for: Any
) -> None:
    settings.TWO_FACTOR_REQUIRED = "everyone"
    client = Client()
    client.force_login(users["viewer"])  # a session from before the setting
    response = client.get(reverse("jobs"))
    assert response.status_code == 302 and response["Location"] == reverse("two_factor")
    assert client.get(reverse("two_factor")).status_code == 200
    api = client.get(reverse("api_me"))
    assert api.status_code == 403 and api.json() == {"error": "two-factor sign-in required; sign in again"}
    bearer = Client().get(reverse("api_me"), HTTP_AUTHORIZATION=f"Bearer {token_for('viewer')}")
    assert bearer.status_code == 200 and bearer.json()["username"] == users["viewer"].username


def test_admin_resets_a_users_second_factor_audited(users: dict[str, Any], client_for: Any) -> None:
    setup = Client()
    setup.force_login(users["editor"])
    enrol(setup)
    response = client_for("admin").post(reverse("two_factor_reset", kwargs={"pk": users["editor"].pk}))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=users["editor"]).exists()
    assert not RecoveryCodeDevice.objects.filter(user=users["editor"]).exists()
    record = AuditRecord.objects.get(summary=f"second factor reset by {users['admin'].username}")
    assert record.actor_id == users["admin"].pk and record.object_id == str(users["editor"].pk)
    # Signing in is password-only again (nothing is required).
    assert password_step(Client(), users["editor"])["Location"] == reverse("monitoring:dashboard")
    assert client_for("editor").post(reverse("two_factor_reset", kwargs={"pk": users["viewer"].pk})).status_code == 403


def test_owner_turns_it_off_with_a_current_code(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["viewer"])
    device, _ = enrol(client)
    refused = client.post(reverse("two_factor"), {"action": "disable", "code": "12"})
    assert refused.status_code == 200 and TOTPDevice.objects.filter(user=users["viewer"]).exists()
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    response = client.post(reverse("two_factor"), {"action": "disable", "code": code_for(device, steps_ahead=1)})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(user=users["viewer"]).exists()


def test_admin_site_signs_in_through_the_portal(users: dict[str, Any], client_for: Any) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client_for("viewer").get("/admin/login/").status_code == 403


def test_the_access_review_shows_who_has_a_second_factor(users: dict[str, Any], client_for: Any) -> None:
    setup = Client()
    setup.force_login(users["editor"])
    enrol(setup)
    page = client_for("admin").get(reverse("maintenance:access_review")).content.decode()
    rows = page.split('data-testid="access-users"')[1].split("</table>")[0].split("<tr>")
    editor_row = next(r for r in rows if "eddie-editor</td>" in r)
    viewer_row = next(r for r in rows if "vera-viewer</td>" in r)
    assert "<td>on</td>" in editor_row and "<td>off</td>" in viewer_row
