"""Shared fixtures: one user per role plus an outsider, signed-in clients, API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from opsportal.models import ApiToken
from opsportal.roles import ADMIN, EDITOR, VIEWER, set_role

PASSWORD = "correct-horse-battery-staple"
ROLE_NAMES = {"viewer": VIEWER, "editor": EDITOR, "admin": ADMIN}


@pytest.fixture(autouse=True)
def _isolated_data_dir(settings: Any, tmp_path: Any) -> None:
    """Each test gets its own DATA_DIR so files never leak between tests; fast password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.DISK_PATHS = [str(settings.DATA_DIR)]


@pytest.fixture(autouse=True)
def _stop_ping_writer() -> Any:
    """A live server's pings start a writer thread with its own connection: end it after the test,
    so the test database can be dropped."""
    yield
    from monitoring.services import ping_batch

    ping_batch.stop()


@pytest.fixture(autouse=True)
def _reset_axes(db: Any) -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def make_user(username: str, role: str | None) -> Any:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
    if role:
        set_role(user, role)
    return user


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    """The cast: viewer, editor, admin, and 'outsider' (signed in, no role)."""
    return {
        "viewer": make_user("vera-viewer", VIEWER),
        "editor": make_user("eddie-editor", EDITOR),
        "admin": make_user("ada-admin", ADMIN),
        "outsider": make_user("otto-outsider", None),
    }


@pytest.fixture
def client_for(users: dict[str, Any]) -> Callable[[str], Client]:
    """client_for('viewer') -> a Client signed in as that role ('anon' -> anonymous)."""
    cache: dict[str, Client] = {}

    def get(role: str) -> Client:
        if role not in cache:
            client = Client()
            if role != "anon":
                client.force_login(users[role])
            cache[role] = client
        return cache[role]

    return get


@pytest.fixture
def token_for(users: dict[str, Any]) -> Callable[..., str]:
    """token_for('editor', role='Viewer') -> the plain bearer token."""

    def make(who: str, role: str | None = None) -> str:
        _token, plain = ApiToken.issue(users[who], f"{who}-token", role or ROLE_NAMES[who])
        return plain

    return make
