"""Sign-in, lockout after repeated failures, sign-out, and the audit records they leave."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from opsportal.models import AuditRecord
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_lands_on_dashboard_and_is_audited(users: dict[str, Any]) -> None:
    client = Client()
    response = _login(client, "vera-viewer", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("monitoring:dashboard")
    page = client.get(reverse("monitoring:dashboard"))
    assert page.status_code == 200
    assert b'data-testid="user-role">Viewer' in page.content
    record = AuditRecord.objects.filter(action=AuditRecord.Action.LOGIN).get()
    assert record.actor_name == "vera-viewer" and record.channel == "console" and record.ip == "10.0.0.1"


def test_wrong_password_shows_form_error(users: dict[str, Any]) -> None:
    response = _login(Client(), "vera-viewer", "nope")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert AuditRecord.objects.filter(action=AuditRecord.Action.LOGIN_FAILED, object_repr="vera-viewer").exists()


def test_lockout_after_repeated_failures_names_the_reason(users: dict[str, Any], settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "vera-viewer", "wrong").status_code == 200
    locked = _login(client, "vera-viewer", "wrong")
    assert locked.status_code == 429
    assert b"locked" in locked.content and b'data-testid="locked-out"' in locked.content
    # Now even the right password is refused from this address...
    again = _login(client, "vera-viewer", PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but the same user from another address, and another user from this one, still get in.
    assert _login(Client(), "vera-viewer", PASSWORD, ip="10.0.0.2").status_code == 302
    assert _login(Client(), "eddie-editor", PASSWORD).status_code == 302


def test_sign_out_requires_post_and_is_audited(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["editor"])
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("monitoring:dashboard")).status_code == 302
    assert AuditRecord.objects.filter(action=AuditRecord.Action.LOGOUT, actor_name="eddie-editor").exists()


def test_password_change(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["viewer"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    users["viewer"].refresh_from_db()
    assert users["viewer"].check_password("another-long-passphrase")
    record = AuditRecord.objects.filter(object_type="auth.user", action="update", actor_name="vera-viewer").latest("id")
    assert record.changes["password"] == ["(secret changed)", "(secret changed)"]


def test_inactive_user_cannot_sign_in(users: dict[str, Any]) -> None:
    users["viewer"].is_active = False
    users["viewer"].save()
    assert _login(Client(), "vera-viewer", PASSWORD).status_code == 200
