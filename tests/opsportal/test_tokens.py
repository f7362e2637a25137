"""API tokens: shown once, stored hashed, scoped to a role no higher than the owner's, revocable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsportal.models import ApiToken, AuditRecord

pytestmark = pytest.mark.django_db


def _api(path: str, token: str, method: str = "get", **kwargs: Any) -> Any:
    return getattr(Client(), method)(path, HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)


def test_token_is_shown_once_and_stored_hashed(client_for: Any, users: dict[str, Any]) -> None:
    client = client_for("editor")
    response = client.post(reverse("tokens"), {"name": "ci", "role": "Editor"})
    assert response.status_code == 200
    plain = response.context["new_token"]
    assert plain.startswith("opp_") and plain.encode() in response.content
    token = ApiToken.objects.get(user=users["editor"])
    assert plain not in (token.digest, token.key_id) and len(token.digest) == 64
    again = client.get(reverse("tokens"))
    assert plain.encode() not in again.content
    me = _api(reverse("api_me"), plain)
    assert me.status_code == 200 and me.json() == {
        "username": "eddie-editor",
        "role": "Editor",
        "token": {"name": "ci", "role": "Editor"},
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_role_cannot_exceed_owner(client_for: Any, users: dict[str, Any]) -> None:
    response = client_for("viewer").post(reverse("tokens"), {"name": "sneaky", "role": "Admin"})
    assert response.status_code == 200
    assert "role" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_token_with_lower_role_is_limited_to_that_role(token_for: Any, users: dict[str, Any]) -> None:
    full = token_for("admin")
    limited = token_for("admin", role="Viewer")
    assert _api(reverse("api_users"), full).status_code == 200
    denied = _api(reverse("api_users"), limited)
    assert denied.status_code == 403 and denied.json()["required"] == "opsportal.manage_users"
    url = reverse("api_user_role", kwargs={"pk": users["viewer"].pk})
    body = json.dumps({"role": "Editor"})
    assert _api(url, limited, "post", data=body, content_type="application/json").status_code == 403


def test_token_never_has_more_than_owner_even_if_owner_is_demoted(token_for: Any, users: dict[str, Any]) -> None:
    from opsportal.roles import VIEWER, set_role

    token = token_for("admin")
    set_role(users["admin"], VIEWER)
    assert _api(reverse("api_users"), token).status_code == 403


def test_revoked_expired_and_malformed_tokens_get_401(client_for: Any, token_for: Any, users: dict[str, Any]) -> None:
    plain = token_for("editor")
    token = ApiToken.objects.get(user=users["editor"])
    assert client_for("editor").post(reverse("token_revoke", kwargs={"pk": token.pk})).status_code == 302
    assert _api(reverse("api_me"), plain).status_code == 401
    assert AuditRecord.objects.filter(object_type="opsportal.apitoken", action="update").exists()

    expired = token_for("viewer")
    ApiToken.objects.filter(user=users["viewer"]).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    assert _api(reverse("api_me"), expired).status_code == 401

    for bad in ("opp_nothing", "garbage", plain[:-2] + "xx"):
        assert _api(reverse("api_me"), bad).status_code == 401
    basic = Client().get(reverse("api_me"), HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert basic.status_code == 401 and "Bearer" in basic.json()["error"]


def test_cannot_revoke_someone_elses_token(client_for: Any, token_for: Any, users: dict[str, Any]) -> None:
    token_for("admin")
    token = ApiToken.objects.get(user=users["admin"])
    assert client_for("editor").post(reverse("token_revoke", kwargs={"pk": token.pk})).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_session_api_post_needs_csrf(users: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    url = reverse("api_user_role", kwargs={"pk": users["viewer"].pk})
    response = client.post(url, data=json.dumps({"role": "Editor"}), content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]


def test_api_rejects_bad_json_with_message(token_for: Any, users: dict[str, Any]) -> None:
    url = reverse("api_user_role", kwargs={"pk": users["viewer"].pk})
    response = _api(url, token_for("admin"), "post", data="{not json", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    response = _api(url, token_for("admin"), "post", data=json.dumps({"role": "Boss"}), content_type="application/json")
    assert response.status_code == 400 and "role" in response.json()["errors"]
