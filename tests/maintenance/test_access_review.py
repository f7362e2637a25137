"""Access review: sign-in history with filters and CSV, users with role, last sign-in, 2FA state, tokens."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from opsportal.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(username: str, password: str, ip: str, agent: str = "Firefox/133") -> None:
    Client().post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def test_history_filters_csv_and_the_user_list(users: dict[str, Any], client_for: Any) -> None:
    _sign_in("vera-viewer", PASSWORD, "10.1.0.1")
    _sign_in("vera-viewer", "wrong", "10.9.9.9", agent="=HYPERLINK(evil)")
    _sign_in("ghost", "wrong", "10.9.9.8")
    ApiToken.issue(users["editor"], "ci", "Editor")
    admin = client_for("admin")  # force_login sends user_logged_in too: the second success
    page = admin.get(reverse("maintenance:access_review"))
    body = page.content.decode()
    assert page.status_code == 200 and "2 sign-ins, 2 failures, 0 lockouts" in body
    users_table = body.split('data-testid="access-users"')[1].split("</table>")[0]
    assert "vera-viewer</td><td>Viewer" in users_table and "eddie-editor</td><td>Editor" in users_table
    # django-otp is installed (issue 10): nobody here has enrolled a second factor yet.
    assert "<th>Two-factor</th>" in body and "not available" not in users_table
    assert "<td>off</td>" in users_table and "<td>on</td>" not in users_table
    failed = admin.get(reverse("maintenance:access_review"), {"kind": "failure"}).content.decode()
    history = failed.split('data-testid="sign-ins"')[1]
    assert "10.9.9.9" in history and "10.1.0.1" not in history and "(no such user)" in history
    by_address = (
        admin.get(reverse("maintenance:access_review"), {"q": "10.1."})
        .content.decode()
        .split('data-testid="sign-ins"')[1]
    )
    assert "10.1.0.1" in by_address and "10.9.9.9" not in by_address
    export = admin.get(reverse("maintenance:access_review_csv"), {"kind": "failure"})
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["time", "result", "username", "account", "address", "user agent"]
    assert {(r[1], r[2], r[3], r[4]) for r in rows[1:]} == {
        ("failure", "vera-viewer", "vera-viewer", "10.9.9.9"),
        ("failure", "ghost", "", "10.9.9.8"),
    }
    assert any(r[5] == "'=HYPERLINK(evil)" for r in rows[1:])  # no formula runs in a spreadsheet
    assert client_for("editor").get(reverse("maintenance:access_review")).status_code == 403
