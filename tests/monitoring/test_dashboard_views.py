"""Dashboard and service page: fixed query counts at 10 and 500 services, filters, live refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring.dashboard.board import GROUP_ROWS, SMALL_BOARD
from monitoring.models import CheckResult, CheckRollup, Service, ServiceFlip, Tag
from monitoring.services.choices import Resolution, ServiceStatus
from monitoring.services.rollups import floor_time
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """The board caches the complete hours' uptime sums: every test starts without them."""
    cache.clear()


# Session, user, permissions (user + groups), then the page's own queries.
# The board: the tag list, the services, the listed rows' tags and details, the uptime Metric row,
# the 24 h uptime sums (the 23 complete hours, cached until the hour turns, and the current hour)
# and the listed rows' hourly rollups (only for rows not already rendered and cached). Counts are
# with an empty cache: two fewer once the hours and the rows are cached.
DASHBOARD_QUERIES = 21  # + open-alert counts and the most urgent alerts; + current checklist periods and open incidents
PARTIAL_QUERIES = 13
SERVICE_PAGE_QUERIES = 19  # the uptime Metric row for the day bar; + the error budget panel: SLO metric, budget (minute, hour, day rows), burn-down, rules
SERVICES_LIST_QUERIES = 12  # constant: parents joined, tags prefetched, budgets (SLO metric + 3 grouped)
SERVICES_API_QUERIES = 9  # constant: tags prefetched, window figures in one pass


def populate(n: int) -> list[Service]:
    """n services with tags, hourly rollups for 24 h, day rollups, results and flips."""
    now = timezone.now()
    tags = [Tag.objects.create(name=f"team-{i}") for i in range(3)]
    services = Service.objects.bulk_create(
        [
            Service(
                name=f"Service {i:03d}",
                slug=f"svc-{i:03d}",
                kind=["api", "frontend", "agent", "database"][i % 4],
                url=f"http://127.0.0.1:9/{i}",
                status=[ServiceStatus.UP, ServiceStatus.DOWN, ServiceStatus.DEGRADED][i % 3],
                last_checked_at=now,
                last_ok=i % 3 != 1,
                last_latency_ms=40.0 + i,
            )
            for i in range(n)
        ]
    )
    Service.tags.through.objects.bulk_create(
        [Service.tags.through(service_id=s.pk, tag_id=tags[i % 3].pk) for i, s in enumerate(services)]
    )
    hour = floor_time(now, Resolution.HOUR)
    CheckRollup.objects.bulk_create(
        [
            CheckRollup(
                service=s,
                resolution=Resolution.HOUR,
                start=hour - dt.timedelta(hours=h),
                count=60,
                failures=h % 5 == 0,
                latency_count=60,
                latency_sum=3000.0,
                histogram={"46": 60},
                p50_ms=50.0,
                p95_ms=55.0,
            )
            for s in services
            for h in range(24)
        ]
    )
    day = floor_time(now, Resolution.DAY)
    CheckRollup.objects.bulk_create(
        [
            CheckRollup(
                service=s,
                resolution=Resolution.DAY,
                start=day - dt.timedelta(days=d),
                count=1440,
                failures=3,
                histogram={"46": 1437},
            )
            for s in services[:5]
            for d in range(30)
        ]
    )
    CheckResult.objects.bulk_create(
        [
            CheckResult(service=services[0], at=now - dt.timedelta(minutes=m), ok=True, latency_ms=50.0)
            for m in range(60)
        ]
    )
    ServiceFlip.objects.bulk_create(
        [
            ServiceFlip(service=services[0], old_status="up", new_status="down", reason="2 failed checks")
            for _ in range(30)
        ]
    )
    return services


@pytest.mark.parametrize("n", [10, 500])
def test_dashboard_query_count_does_not_grow_with_services(
    n: int, client_for: Callable[[str], Client], django_assert_num_queries: Any
) -> None:
    populate(n)
    client = client_for("viewer")
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("monitoring:dashboard"))
    assert response.status_code == 200
    # A small board lists everything; a large one the services that need attention, 25 per group
    # (down and degraded here), the up group collapsed to its summary line.
    assert response.content.count(b'data-service="svc-') == (n if n <= SMALL_BOARD else 2 * GROUP_ROWS)
    cache.clear()
    with django_assert_num_queries(PARTIAL_QUERIES):
        partial = client.get(reverse("monitoring:dashboard_services") + "?kind=api&state=down", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert b"<html" not in partial.content


@pytest.mark.parametrize("n", [10, 500])
def test_service_page_query_count_does_not_grow_with_services(
    n: int, client_for: Callable[[str], Client], django_assert_num_queries: Any
) -> None:
    services = populate(n)
    client = client_for("viewer")
    with django_assert_num_queries(SERVICE_PAGE_QUERIES):
        response = client.get(reverse("monitoring:service", args=[services[0].slug]))
    assert response.status_code == 200
    assert response.content.count(b"<svg") == 5  # three latency charts, the uptime-per-day bar, the budget burn-down


def test_filters_by_kind_tag_state_and_text(client_for: Callable[[str], Client]) -> None:
    ServiceFactory(slug="checkout-api", kind="api", status=ServiceStatus.DOWN, tags=["payments"])
    ServiceFactory(slug="shop-frontend", kind="frontend", status=ServiceStatus.UP, tags=["payments"])
    ServiceFactory(slug="content-agent", kind="agent", status=ServiceStatus.UP, tags=["ai"])
    client = client_for("viewer")

    def shown(query: str) -> list[str]:
        body = client.get(reverse("monitoring:dashboard_services") + query).content.decode()
        return sorted(s for s in ("checkout-api", "shop-frontend", "content-agent") if f'data-service="{s}"' in body)

    assert shown("") == ["checkout-api", "content-agent", "shop-frontend"]
    assert shown("?kind=api") == ["checkout-api"]
    assert shown("?tag=payments") == ["checkout-api", "shop-frontend"]
    assert shown("?state=up&tag=payments") == ["shop-frontend"]
    assert shown("?q=agent") == ["content-agent"]
    assert shown("?state=nonsense") == ["checkout-api", "content-agent", "shop-frontend"]  # invalid filter ignored


def test_board_polls_itself_with_htmx_and_keeps_the_filter(client_for: Callable[[str], Client]) -> None:
    ServiceFactory(slug="api", kind="api")
    client = client_for("viewer")
    page = client.get(reverse("monitoring:dashboard") + "?kind=api").content.decode()
    # Polls every 5 s, only while the tab is visible (a hidden tab costs the server nothing).
    assert "hx-trigger=\"every 5s [document.visibilityState === 'visible']\"" in page
    # The refresh sends the live form: the filters, the view and the cursor of what the page shows.
    assert f'hx-get="{reverse("monitoring:dashboard_services")}" hx-include="#svc-live"' in page
    assert '<input type="hidden" name="kind" value="api">' in page and 'name="cursor"' in page
    response = client.get(
        reverse("monitoring:dashboard_services") + "?kind=api", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="svc-filters"
    )
    assert response["HX-Push-Url"] == reverse("monitoring:dashboard") + "?kind=api"
    poll = client.get(reverse("monitoring:dashboard_services"), HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="svc-poll")
    assert "HX-Push-Url" not in poll


def test_worst_services_come_first_and_pictures_are_server_rendered_svg(client_for: Callable[[str], Client]) -> None:
    up = ServiceFactory(slug="a-up", status=ServiceStatus.UP)
    ServiceFactory(slug="z-down", status=ServiceStatus.DOWN)
    ServiceFactory(slug="m-paused", enabled=False, status=ServiceStatus.PAUSED)
    CheckRollup.objects.create(
        service=up,
        resolution=Resolution.HOUR,
        start=floor_time(timezone.now(), Resolution.HOUR),
        count=10,
        failures=1,
        p95_ms=80.0,
    )
    body = client_for("viewer").get(reverse("monitoring:dashboard_services")).content.decode()
    assert (
        body.index('data-service="z-down"') < body.index('data-service="a-up"') < body.index('data-service="m-paused"')
    )
    row = body[body.index('data-service="a-up"') :]
    row = row[: row.index("</tr>")]
    # One shape per hour that missed the target (with its tooltip); the other hours share paths.
    assert row.count("<rect") == 1 and '<rect class="cell-down"' in row  # 90% uptime this hour
    assert "90% of 10 checks" in row and '<path class="cell-none"' in row
    assert '<polyline class="line-p95"' in row or '<circle class="line-p95"' in row


@pytest.mark.parametrize("n", [10, 200])
def test_services_list_page_and_api_query_counts_do_not_grow_with_services(
    n: int, client_for: Callable[[str], Client], django_assert_num_queries: Any
) -> None:
    services = populate(n)
    Service.objects.filter(pk__in=[s.pk for s in services[1:]]).update(parent=services[0])
    client = client_for("viewer")
    with django_assert_num_queries(SERVICES_LIST_QUERIES):
        response = client.get(reverse("monitoring:services"))
    assert response.status_code == 200
    assert response.content.count(b"under Service 000") == n - 1
    assert response.content.count(b'class="tag"') == n
    with django_assert_num_queries(SERVICES_API_QUERIES):
        api = client.get(reverse("monitoring:api_services"))
    assert api.status_code == 200
    assert all(len(row["tags"]) == 1 for row in api.json()["results"])
