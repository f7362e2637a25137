"""Role-matrix routes of the core app."""

from __future__ import annotations

from typing import Any

from opsportal.models import ApiToken
from tests.role_matrix import ADMIN_ONLY, API_ADMIN, API_READ, READ, Route, on_success


def _own_token(users: dict[str, Any]) -> dict[str, Any]:
    # Each role revokes a token of its own; the admin's token id is what we pass.
    token, _ = ApiToken.issue(users["admin"], "matrix", "Viewer")
    return {"pk": token.pk}


def _other_user(users: dict[str, Any]) -> dict[str, Any]:
    return {"pk": users["viewer"].pk}


ROUTES = [
    Route("login", {"anon": 200, "outsider": 302, "viewer": 302, "editor": 302, "admin": 302}),
    Route("logout", {r: 302 for r in ("anon", "outsider", "viewer", "editor", "admin")}, method="POST"),
    # The second step and enrolment during sign-in: without a pending sign-in, back to the sign-in page.
    Route("login_verify", {r: 302 for r in ("anon", "outsider", "viewer", "editor", "admin")}),
    Route("login_enrol", {r: 302 for r in ("anon", "outsider", "viewer", "editor", "admin")}),
    Route("two_factor", READ),
    Route("two_factor_reset", on_success(ADMIN_ONLY, 302), method="POST", setup=_other_user),
    Route("password_change", READ),
    Route("password_change_done", READ),
    Route("tokens", READ),
    # Someone else's token is a 404 (not revealed); the admin owns it.
    Route(
        "token_revoke",
        {"anon": 302, "outsider": 403, "viewer": 404, "editor": 404, "admin": 302},
        method="POST",
        setup=_own_token,
    ),
    Route("users", ADMIN_ONLY),
    Route("user_create", ADMIN_ONLY),
    Route("user_edit", ADMIN_ONLY, setup=_other_user),
    Route("audit", ADMIN_ONLY),
    Route("jobs", READ),
    Route("api_health", {r: 200 for r in ("anon", "outsider", "viewer", "editor", "admin")}, note="(degraded is 200)"),
    Route("metrics", {r: 200 for r in ("anon", "outsider", "viewer", "editor", "admin")}),
    # Read-only pages: a POST is 405 for everyone (no CSRF check stands in front of it).
    Route("api_health", {r: 405 for r in ("anon", "outsider", "viewer", "editor", "admin")}, method="POST"),
    Route("metrics", {r: 405 for r in ("anon", "outsider", "viewer", "editor", "admin")}, method="POST"),
    Route("favicon", {r: 200 for r in ("anon", "outsider", "viewer", "editor", "admin")}),
    Route("favicon", {r: 405 for r in ("anon", "outsider", "viewer", "editor", "admin")}, method="POST"),
    Route("api_me", {"anon": 401, "outsider": 403, "viewer": 200, "editor": 200, "admin": 200}),
    Route("api_users", API_ADMIN),
    Route("api_openapi", API_READ),
    Route("api_docs", READ),
    Route(
        "api_user_role",
        on_success(API_ADMIN, 200),
        method="POST",
        setup=_other_user,
        data={"role": "Editor"},
        content_type="application/json",
    ),
]
