"""Sign-in history: successes, failures and lockouts recorded from signals with address and agent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsportal import signins
from opsportal.models import SignInEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

AGENT = "Mozilla/5.0 (X11; Linux x86_64) ReviewBot/1.0"


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.7") -> Any:
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, HTTP_USER_AGENT=AGENT
    )


def test_success_is_recorded_with_address_agent_and_user(users: dict[str, Any]) -> None:
    assert _login(Client(), "eddie-editor", PASSWORD).status_code == 302
    event = SignInEvent.objects.get()
    assert (event.kind, event.username, event.user, event.ip, event.user_agent) == (
        "success",
        "eddie-editor",
        users["editor"],
        "10.0.0.7",
        AGENT,
    )


def test_failures_and_the_lockout_are_recorded(users: dict[str, Any], settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "vera-viewer", "wrong", ip="10.0.0.9")
    _login(Client(), "nobody-here", "wrong", ip="10.0.0.10")
    kinds = list(SignInEvent.objects.order_by("id").values_list("kind", "username", "ip"))
    failures = [k for k in kinds if k[0] == "failure"]
    assert len([f for f in failures if f[1] == "vera-viewer"]) == settings.AXES_FAILURE_LIMIT
    lockouts = SignInEvent.objects.filter(kind="lockout")
    assert lockouts.count() == 1
    lock = lockouts.get()
    assert (lock.username, lock.ip, lock.user) == ("vera-viewer", "10.0.0.9", users["viewer"])
    unknown = SignInEvent.objects.get(username="nobody-here")
    assert unknown.kind == "failure" and unknown.user is None and unknown.ip == "10.0.0.10"
    # The successful sign-in of the same user from elsewhere is a third kind of row.
    _login(Client(), "vera-viewer", PASSWORD, ip="10.0.0.11")
    assert SignInEvent.objects.filter(kind="success", user=users["viewer"], ip="10.0.0.11").count() == 1


def test_agent_is_bounded_and_old_events_are_pruned(users: dict[str, Any], settings: Any) -> None:
    Client().post(
        reverse("login"),
        {"username": "ada-admin", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.8",
        HTTP_USER_AGENT="x" * 1000,
    )
    event = SignInEvent.objects.get()
    assert len(event.user_agent) == 300
    SignInEvent.objects.create(kind="failure", username="old", at=timezone.now() - dt.timedelta(days=401))
    SignInEvent.objects.create(kind="failure", username="recent", at=timezone.now() - dt.timedelta(days=399))
    assert signins.prune() == 1
    assert set(SignInEvent.objects.values_list("username", flat=True)) == {"ada-admin", "recent"}
