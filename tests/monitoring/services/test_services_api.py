"""Services API: list with uptime and p95, one service, raw results since a time (paged)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from monitoring.services.choices import ServiceStatus
from monitoring.services.rollups import rollup
from tests.monitoring.services.factories import ServiceFactory, add_results

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 4, 2, 10, 15, tzinfo=dt.UTC)


def test_list_shows_state_last_result_and_window_figures(token_for: Callable[..., str], settings: Any) -> None:
    settings.API_PAGE_SIZE = 2
    api = ServiceFactory(slug="api", status=ServiceStatus.UP, tags=["backend"])
    ServiceFactory(slug="frontend", kind="frontend", status=ServiceStatus.DOWN)
    ServiceFactory(slug="worker", kind="worker", enabled=False, status=ServiceStatus.PAUSED)
    add_results(api, [100.0, 200.0, None, 300.0], start=NOW - dt.timedelta(hours=2), step=dt.timedelta(minutes=20))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for('viewer')}")
    with time_machine.travel(NOW, tick=False):
        rollup()
        body = client.get(reverse("monitoring:api_services")).json()
        page2 = client.get(body["next"]).json()
    assert (body["count"], body["pages"], [s["slug"] for s in body["results"]]) == (3, 2, ["api", "frontend"])
    first = body["results"][0]
    assert first["status"] == "up" and first["tags"] == ["backend"]
    assert first["windows"]["24h"]["checks"] == 4 and first["windows"]["24h"]["uptime"] == 0.75
    assert first["windows"]["30d"]["p95_ms"] is not None and 280 <= first["windows"]["30d"]["p95_ms"] <= 320
    assert [s["slug"] for s in page2["results"]] == ["worker"] and page2["results"][0]["status"] == "paused"
    assert page2["next"] is None


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("?status=down", ["frontend"]),
        ("?kind=worker", ["worker"]),
        ("?status=paused", ["worker"]),
        ("?tag=backend", ["api"]),
    ],
)
def test_list_filters(query: str, slugs: list[str], client_for: Callable[[str], Client]) -> None:
    ServiceFactory(slug="api", status=ServiceStatus.UP, tags=["backend"])
    ServiceFactory(slug="frontend", kind="frontend", status=ServiceStatus.DOWN)
    ServiceFactory(slug="worker", kind="worker", enabled=False, status=ServiceStatus.PAUSED)
    body = client_for("viewer").get(reverse("monitoring:api_services") + query).json()
    assert [s["slug"] for s in body["results"]] == slugs


@pytest.mark.parametrize("query", ["?status=sideways", "?kind=robot", "?page=0", "?page=x"])
def test_list_rejects_bad_parameters(query: str, client_for: Callable[[str], Client]) -> None:
    response = client_for("viewer").get(reverse("monitoring:api_services") + query)
    assert response.status_code == 400 and "error" in response.json()


def test_detail_has_config_without_secret_values_and_four_windows(client_for: Callable[[str], Client]) -> None:
    ServiceFactory(
        slug="api",
        secret_headers={"Authorization": "API_TOKEN"},
        expect_json_path="status",
        expect_json_value="healthy",
    )
    body = client_for("viewer").get(reverse("monitoring:api_service", args=["api"])).json()
    assert set(body["windows"]) == {"24h", "7d", "30d", "90d"}
    assert body["check"]["secret_headers_from_env"] == {"Authorization": "API_TOKEN"}
    assert body["check"]["expect_json_value"] == "healthy"
    assert body["results_url"].endswith("/api/v1/services/api/results")
    assert client_for("viewer").get(reverse("monitoring:api_service", args=["nope"])).status_code == 404


def test_results_since_are_paged_with_a_cursor(client_for: Callable[[str], Client], settings: Any) -> None:
    settings.API_PAGE_SIZE = 50
    service = ServiceFactory(slug="api")
    add_results(service, [float(i) for i in range(1, 11)], start=NOW - dt.timedelta(minutes=10))
    client = client_for("viewer")
    url = reverse("monitoring:api_service_results", args=["api"])
    since = (NOW - dt.timedelta(minutes=8, seconds=30)).isoformat()
    seen: list[float] = []
    page = client.get(url, {"since": since, "limit": 3}).json()
    while True:
        seen += [r["latency_ms"] for r in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    assert seen == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    until = client.get(url, {"since": since, "until": (NOW - dt.timedelta(minutes=6)).isoformat()}).json()
    assert [r["latency_ms"] for r in until["results"]] == [3.0, 4.0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since: not an ISO-8601 time"),
        ({"limit": "0"}, "limit: a whole number from 1 to"),
        ({"cursor": "!!!"}, "cursor: not a cursor returned by this API"),
    ],
)
def test_results_reject_bad_parameters(
    params: dict[str, str], message: str, client_for: Callable[[str], Client]
) -> None:
    ServiceFactory(slug="api")
    response = client_for("viewer").get(reverse("monitoring:api_service_results", args=["api"]), params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
