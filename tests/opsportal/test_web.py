"""Shared web helpers: one paging envelope and error shape for every JSON list, one time parser."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from monitoring.alerts.public import raise_alert
from monitoring.services.models import Service
from opsportal.web import iso, parse_time

pytestmark = pytest.mark.django_db


def _three_of_each() -> None:
    for slug in ("a", "b", "c"):
        Service.objects.create(slug=slug, name=slug.upper(), url=f"http://127.0.0.1:9/{slug}")
        raise_alert(f"test:{slug}", summary=f"{slug} is down", source="test")


@pytest.mark.parametrize("name", ["monitoring:api_services", "monitoring:api_alerts"])
def test_every_list_pages_the_same_way(name: str, client_for: Callable[[str], Client], settings: Any) -> None:
    settings.API_PAGE_SIZE = 2
    _three_of_each()
    client = client_for("viewer")
    first = client.get(reverse(name)).json()
    assert (first["count"], first["page"], first["pages"], len(first["results"])) == (3, 1, 2, 2)
    assert first["next"].startswith("http://testserver/") and "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert (second["page"], second["next"], len(second["results"])) == (2, None, 1)
    for page in ("3", "0", "two"):
        response = client.get(reverse(name), {"page": page})
        assert response.status_code == 400, page
        assert response.json() == {
            "error": "page: a whole number from 1 to 2",
            "errors": {"page": "a whole number from 1 to 2"},
        }


def test_filter_errors_name_the_field(client_for: Callable[[str], Client]) -> None:
    client = client_for("viewer")
    services = client.get(reverse("monitoring:api_services"), {"kind": "robot"}).json()
    assert services["errors"] == {"kind": services["error"].removeprefix("kind: ")}
    alerts = client.get(reverse("monitoring:api_alerts"), {"since": "2026-03-01T00:00:00", "severity": "loud"}).json()
    assert set(alerts["errors"]) == {"since", "severity"} and "timezone" in alerts["errors"]["since"]


def test_a_plus_sign_lost_in_a_query_string_is_restored(client_for: Callable[[str], Client]) -> None:
    _three_of_each()
    client = client_for("viewer")
    response = client.get(reverse("monitoring:api_alerts") + "?since=2000-01-01T00:00:00+02:00")  # '+' reads as ' '
    assert response.status_code == 200 and response.json()["count"] == 3


def test_parse_time() -> None:
    utc = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert parse_time("2026-03-01T12:00:00Z") == utc
    assert parse_time("2026-03-01T14:00:00 02:00") == utc
    assert parse_time("2026-03-01T12:00:00", naive_is_utc=True) == utc
    assert parse_time(utc.timestamp(), unix=True) == utc
    for bad, kwargs in [("2026-03-01T12:00:00", {}), ("yesterday", {}), (1.5, {}), (float("inf"), {"unix": True})]:
        with pytest.raises(ValueError):
            parse_time(bad, **kwargs)
    assert iso(utc) == "2026-03-01T12:00:00+00:00" and iso(None) is None


@given(st.one_of(st.text(max_size=40), st.floats(), st.integers(), st.none(), st.booleans()))
def test_parse_time_answers_any_input_with_a_time_or_a_value_error(value: Any) -> None:
    try:
        moment = parse_time(value, unix=True)
    except ValueError as exc:
        assert str(exc)
    else:
        assert moment.tzinfo is not None


def test_the_favicon_is_linked_from_every_page_and_answers_at_favicon_ico(client: Client) -> None:
    """Browsers ask for /favicon.ico on their own: a 404 there logged a warning on every visit."""
    page = client.get(reverse("login")).content.decode()
    assert re.search(r'<link rel="icon" type="image/svg\+xml" href="/static/icons/favicon[.\w]*svg">', page)
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/svg+xml"
    assert answer.content == Path(finders.find("icons/favicon.svg")).read_bytes()
    assert answer.content.startswith(b"<svg") and "max-age=86400" in answer["Cache-Control"]
