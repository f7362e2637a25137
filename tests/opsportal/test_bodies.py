"""The request-parsing layer: size (413), Content-Type (415), depth, NUL, lone surrogates, numbers, times."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.urls import reverse

from opsportal import bodies, web
from opsportal.bodies import BodyRefused


def refused(raw: bytes | str) -> BodyRefused:
    with pytest.raises(BodyRefused) as caught:
        bodies.loads(raw)
    return caught.value


def test_a_400_digit_integer_is_refused_naming_its_field() -> None:
    error = refused('{"samples": [{"metric": "m", "value": ' + "9" * 400 + "}]}")
    assert error.status == 400
    assert [e.as_dict() for e in error.errors] == [
        {"index": 0, "field": "value", "message": "number with 400 digits; at most 40 characters"}
    ]


def test_integers_outside_64_bits_and_nan_are_refused() -> None:
    assert refused('{"at": 18446744073709551616}').errors[0].message == "integer outside the 64-bit range"
    assert refused('{"value": NaN}').errors[0].message == "NaN is not a number JSON allows"
    assert refused('{"value": -Infinity}').errors[0].field == "value"
    assert refused('{"value": 1e400}').errors[0].message == "number too large to store"
    assert bodies.loads('{"value": 9223372036854775807, "f": 1.5e300}') == {"value": 2**63 - 1, "f": 1.5e300}


def test_deep_nesting_is_refused_before_json_recurses() -> None:
    error = refused("[" * 100000 + "]" * 100000)
    assert error.message == "JSON nested deeper than 32 levels"
    assert bodies.loads("[" * 32 + "]" * 32) is not None
    # Brackets inside strings (and escaped quotes) do not count.
    assert bodies.loads(json.dumps({"text": "[" * 500 + '\\"' + "{" * 50})) == {"text": "[" * 500 + '\\"' + "{" * 50}


def test_nul_and_lone_surrogates_are_refused_with_their_field() -> None:
    error = refused('{"samples": [{"metric": "ok"}, {"metric": "a\\u0000b", "service": "\\ud800"}]}')
    assert sorted((e.index, e.field, e.message) for e in error.errors) == [
        (1, "metric", "contains a NUL character (\\u0000)"),
        (1, "service", "contains a lone surrogate (\\ud800); send valid Unicode"),
    ]
    assert refused('{"a\\u0000": 1}').errors[0].message.startswith("a key contains a NUL")
    # A surrogate pair is a valid character, not a lone surrogate.
    assert bodies.loads('{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


def test_invalid_utf8_and_invalid_json() -> None:
    assert refused(b"\xff{}").message == "body is not UTF-8 (byte 0)"
    assert refused(b'{"a": ').message.startswith("body is not valid JSON")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026-12-01T19:00:00+23:59", "has a UTC offset beyond ±15:59, which PostgreSQL cannot store"),
        ("2026-12-01T19:00:00", "must include a timezone (for example Z or +02:00)"),
        ("0001-01-01T00:00:00+01:00", "is out of range"),
        ("2026-13-01T00:00:00Z", "not an ISO-8601 time such as 2026-03-01T12:00:00Z or Unix seconds"),
        (int("9" * 20), "is out of range"),
        (True, "not an ISO-8601 time or Unix seconds"),
    ],
)
def test_times_postgresql_cannot_store_are_refused(value: Any, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        web.parse_time(value, unix=True)
    assert str(caught.value) == why


def test_times_are_returned_in_utc() -> None:
    assert web.parse_time("2026-12-01T19:00:00+15:59") == dt.datetime(2026, 12, 1, 3, 1, tzinfo=dt.UTC)
    assert web.parse_time(0, unix=True) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_batch_limit(settings: Any) -> None:
    settings.API_MAX_BATCH = 3
    assert bodies.batch([1, 2, 3], key="items") == [1, 2, 3]
    with pytest.raises(BodyRefused) as caught:
        bodies.batch([1, 2, 3, 4], key="items")
    assert caught.value.status == 413
    assert caught.value.errors[0].as_dict() == {
        "field": "items",
        "message": "the batch has 4 items; at most 3 are accepted at once",
    }


# Through an endpoint (api_view answers BodyRefused) ---------------------------------------


@pytest.mark.django_db
def test_wrong_content_type_is_415(users: dict[str, Any], token_for: Any, client: Any) -> None:
    url = reverse("api_user_role", kwargs={"pk": users["viewer"].pk})
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for('admin')}"}
    response = client.post(url, data='{"role": "Editor"}', content_type="text/plain", **auth)
    assert response.status_code == 415
    assert response.json() == {
        "error": "send the body as application/json (Content-Type was text/plain)",
        "errors": [{"field": "Content-Type", "message": "Content-Type must be application/json"}],
    }
    assert users["viewer"].groups.get().name == "Viewer"


@pytest.mark.django_db
def test_body_over_the_limit_is_a_json_413_not_djangos_html_400(
    users: dict[str, Any], token_for: Any, client: Any
) -> None:
    url = reverse("api_user_role", kwargs={"pk": users["viewer"].pk})
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for('admin')}"}
    body = json.dumps({"role": "Editor", "pad": "x" * (3 * 1024 * 1024)})  # 3 MB: over Django's 2.5 MB too
    response = client.post(url, data=body, content_type="application/json", **auth)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith("request body larger than 2097152 bytes")
    assert users["viewer"].groups.get().name == "Viewer"


@pytest.mark.django_db
def test_django_refusal_on_an_api_path_is_json(settings: Any, users: dict[str, Any], token_for: Any) -> None:
    """A caller allowing more than DATA_UPLOAD_MAX_MEMORY_SIZE still gets a JSON 413 from Django's own limit."""
    from django.test import RequestFactory

    from opsportal.errors import bad_request

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    request = RequestFactory().post("/api/v1/x", data="[" + "1," * 1000 + "1]", content_type="application/json")
    with pytest.raises(BodyRefused) as caught:
        bodies.read_body(request, max_bytes=10_000)
    assert caught.value.status == 413
    from django.core.exceptions import RequestDataTooBig

    response = bad_request(request, RequestDataTooBig("too big"))
    assert response.status_code == 413 and response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_403_is_logged_as_one_line(client_for: Any, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client_for("viewer").get(reverse("users"))
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Forbidden (Permission denied): /users/"]
    assert all(r.exc_info is None and r.exc_text is None for r in records)
    rendered = "\n".join(logging.Formatter("%(message)s").format(r) for r in records)
    assert "Traceback" not in rendered


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["api_health", "metrics"])
def test_post_to_health_and_metrics_is_405(name: str, client: Any) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)  # as curl: no CSRF token
    for c in (client, strict):
        response = c.post(reverse(name), data="{}", content_type="application/json")
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
        assert response.json() == {"error": "method POST not allowed", "allowed": ["GET", "HEAD"]}
