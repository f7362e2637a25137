"""Silences through the API (issue 9, item 8): GET/POST /api/v1/silences, POST .../<id>/expire,
matchers, creator, reason, end time; editors and their tokens; bad bodies refused naming the field."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.alerts.holds import Holds
from monitoring.alerts.public import raise_alert
from monitoring.models import Silence, Tag
from opsportal.models import AuditRecord
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_an_editor_token_creates_lists_and_expires_a_silence(token_for: Callable[..., str]) -> None:
    api = ServiceFactory(slug="api", name="API")
    api.tags.add(Tag.objects.create(name="backend"))
    token = token_for("editor")
    ends = (timezone.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    response = post(
        Client(),
        "/api/v1/silences",
        {
            "service": "api",
            "tag": "backend",
            "key_prefix": "metric:",
            "reason": "deploy 4.2",
            "ends_at": ends.isoformat(),
        },
        **bearer(token),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["matchers"] == {"service": "api", "tag": "backend", "key_prefix": "metric:", "severity": None}
    assert body["created_by"] == "eddie-editor" and body["reason"] == "deploy 4.2" and body["state"] == "active"
    silence = Silence.objects.get(pk=body["id"])
    assert silence.ends_at == ends
    assert AuditRecord.objects.filter(object_type__icontains="silence", action="create").exists()
    alert = raise_alert("metric:error_rate:service:api", summary="Error Rate is 5%", source="metrics", service=api)
    assert alert.held_reason.startswith("silenced (service API, tag backend, key metric:*): deploy 4.2")

    listed = Client().get("/api/v1/silences", **bearer(token_for("viewer"))).json()
    assert [s["id"] for s in listed["results"]] == [silence.pk]

    expired = Client().post(f"/api/v1/silences/{silence.pk}/expire", **bearer(token))
    assert expired.status_code == 200 and expired.json()["state"] == "expired"
    assert Holds.load().reason(alert) == ""
    again = Client().post(f"/api/v1/silences/{silence.pk}/expire", **bearer(token))
    assert again.status_code == 409
    assert Client().get("/api/v1/silences?state=expired", **bearer(token)).json()["count"] == 1


def test_a_viewer_token_may_read_but_not_create(token_for: Callable[..., str]) -> None:
    ends = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    response = post(
        Client(), "/api/v1/silences", {"key_prefix": "x", "reason": "r", "ends_at": ends}, **bearer(token_for("viewer"))
    )
    assert response.status_code == 403
    # An admin's token limited to the Viewer role cannot either: a token never has more than its role.
    limited = post(
        Client(),
        "/api/v1/silences",
        {"key_prefix": "x", "reason": "r", "ends_at": ends},
        **bearer(token_for("admin", role="Viewer")),
    )
    assert limited.status_code == 403
    assert not Silence.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "r", "ends_at": "2100-01-01T00:00:00Z"}, "matchers"),
        ({"key_prefix": "x", "ends_at": "2100-01-01T00:00:00Z"}, "reason"),
        ({"key_prefix": "x", "reason": "r"}, "ends_at"),
        ({"key_prefix": "x", "reason": "r", "ends_at": "tomorrow"}, "ends_at"),
        ({"key_prefix": "x", "reason": "r", "ends_at": "2100-01-01T00:00:00"}, "ends_at"),
        ({"key_prefix": "x", "reason": "r", "ends_at": "2000-01-01T00:00:00Z"}, "ends_at"),
        ({"service": "nope", "reason": "r", "ends_at": "2100-01-01T00:00:00Z"}, "service"),
        ({"severity": "loud", "reason": "r", "ends_at": "2100-01-01T00:00:00Z"}, "severity"),
        ({"key_prefix": 5, "reason": "r", "ends_at": "2100-01-01T00:00:00Z"}, "key_prefix"),
        ({"key_prefix": "x", "reason": "r", "ends_at": "2100-01-01T00:00:00Z", "matcher": "y"}, "matcher"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(body: Any, field: str, client_for: Callable[[str], Client]) -> None:
    response = post(client_for("editor"), "/api/v1/silences", body)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Silence.objects.exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["service", "tag", "key_prefix", "severity", "reason", "starts_at", "ends_at", "x"]),
            st.one_of(st.none(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=3)),
            max_size=6,
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_any_body_gets_201_or_a_400_never_a_500(body: bytes, client_for: Callable[[str], Client]) -> None:
    response = client_for("editor").post("/api/v1/silences", body, content_type="application/json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["errors"]
