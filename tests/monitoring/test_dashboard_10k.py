"""The dashboard at 10,000 services: a fixed number of queries, under 500 KB, what is down on top,
and a refresh after one flip that sends that row alone. (Timing is bench/dashboard.py's job.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.dashboard.board import GROUP_ROWS
from monitoring.models import Service, ServiceFlip, Tag
from monitoring.services.choices import Resolution, ServiceStatus
from monitoring.services.rollups import floor_time
from tests.monitoring.dashboard_live import refresh, rows
from tests.monitoring.test_dashboard_views import DASHBOARD_QUERIES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


N = 10_000
KINDS = ["api", "frontend", "agent", "model_provider", "database", "cache", "worker", "other"]
PAGE_LIMIT = 500_000  # bytes


def status_of(i: int) -> str:
    """2% down, 5% degraded, the rest up (as in bench/dashboard.py)."""
    if i % 50 == 0:
        return ServiceStatus.DOWN
    if i % 20 == 1:
        return ServiceStatus.DEGRADED
    return ServiceStatus.UP


@pytest.fixture(scope="module")
def ten_thousand(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[Service]]:
    """Built once for the module (committed), removed after it; each test's own changes roll back."""
    with django_db_blocker.unblock():
        services = build()
    try:
        yield services
    finally:
        # Plain SQL, as the rows were made: no signals, so no audit records (which are append-only).
        ids = [s.pk for s in services]
        with django_db_blocker.unblock(), connection.cursor() as cur:
            cur.execute("DELETE FROM monitoring_checkrollup WHERE service_id = ANY(%s)", [ids])
            cur.execute("DELETE FROM monitoring_service_tags WHERE service_id = ANY(%s)", [ids])
            cur.execute("DELETE FROM monitoring_service WHERE id = ANY(%s)", [ids])
            cur.execute("DELETE FROM monitoring_tag WHERE name = ANY(%s)", [list(TAGS)])


TAGS = ("backend", "frontend", "ai", "eu", "us", "t1", "t2", "t3")


def build() -> list[Service]:
    now = timezone.now()
    tags = Tag.objects.bulk_create([Tag(name=n) for n in TAGS])
    services = Service.objects.bulk_create(
        [
            Service(
                name=f"Service {i:05d}",
                slug=f"svc-{i:05d}",
                kind=KINDS[i % len(KINDS)],
                url=f"http://127.0.0.1:9/{i}",
                status=status_of(i),
                status_reason="2 failed checks in a row: connection refused" if status_of(i) == "down" else "",
                enabled=i % 500 != 7,
                last_checked_at=now,
                last_ok=status_of(i) != ServiceStatus.DOWN,
                last_latency_ms=40.0 + i % 300,
            )
            for i in range(N)
        ],
        batch_size=2000,
    )
    through = Service.tags.through
    through.objects.bulk_create(
        [through(service_id=s.pk, tag_id=tags[(i + k) % len(tags)].pk) for i, s in enumerate(services) for k in (0, 3)],
        batch_size=5000,
    )
    # 24 hourly rollups for every service: 240,000 rows in one statement.
    last = floor_time(now, Resolution.HOUR)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO monitoring_checkrollup
              (service_id, resolution, start, count, failures, degraded, latency_count, latency_sum,
               histogram, p50_ms, p95_ms)
            SELECT s.id, 'hour', g.t, 60, CASE WHEN (s.id + extract(hour FROM g.t)::int) %% 9 = 0 THEN 2 ELSE 0 END,
                   0, 60, 3000, '{}'::jsonb, 50, 55 + s.id %% 40
            FROM monitoring_service s
            CROSS JOIN generate_series(%s::timestamptz - interval '23 hours', %s::timestamptz, interval '1 hour') g(t)
            """,
            [last, last],
        )
    return services


def count_queries(client: Client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content


def test_the_board_of_10000_services_is_small_puts_down_on_top_and_costs_fixed_queries(
    ten_thousand: list[Service], client_for: Callable[[str], Client]
) -> None:
    client = client_for("viewer")
    ten, _ = count_queries(client, reverse("monitoring:dashboard") + "?q=Service+0000")
    cache.clear()
    everything, body = count_queries(client, reverse("monitoring:dashboard"))
    # The same count for 10 and for 10,000 services (each with an empty cache); once the complete
    # hours' sums and the rendered rows are cached, two fewer.
    assert ten == everything == DASHBOARD_QUERIES
    assert count_queries(client, reverse("monitoring:dashboard"))[0] == DASHBOARD_QUERIES - 2
    assert len(body) < PAGE_LIMIT, len(body)
    page = body.decode()
    # Counts on top for all 10,000; the down group first, a page of 25 of its 200 rows listed.
    assert 'data-testid="count-all" aria-current="page">10,000 services' in page
    assert "</span>200 down</a>" in page
    listed = rows(page)
    first = Service.objects.get(slug=listed[0])
    assert first.status == ServiceStatus.DOWN and first.enabled
    down = page[page.index('<tbody id="g-s-down"') : page.index('<tbody id="g-s-degraded"')]
    assert len(rows(down)) == GROUP_ROWS and "1\u201325 of 200 \u00b7 page 1 of 8" in down
    up = page[page.index('<tbody id="g-s-up"') : page.index('<tbody id="g-s-paused"')]
    assert rows(up) == [] and "Show 9,280" in up and "uptime 24 h" in up
    for query in ("?group=kind", "?group=tag", "?open=up&page=up:7", "?state=up&open=up"):
        cache.clear()
        queries, content = count_queries(client, reverse("monitoring:dashboard") + query)
        assert queries == DASHBOARD_QUERIES, query
        assert len(content) < PAGE_LIMIT, (query, len(content))
        assert rows(content.decode()), query
    by_kind = count_queries(client, reverse("monitoring:dashboard") + "?group=kind")[1].decode()
    assert Service.objects.get(slug=rows(by_kind)[0]).status == ServiceStatus.DOWN


def test_a_refresh_after_one_flip_among_10000_sends_that_row_alone(
    ten_thousand: list[Service], client_for: Callable[[str], Client]
) -> None:
    client = client_for("viewer")
    page = client.get(reverse("monitoring:dashboard")).content.decode()
    unchanged = refresh(client, page)
    assert unchanged.status_code == 304 and unchanged["ETag"]
    victim = Service.objects.get(slug="svc-00002")  # up, listed nowhere (the up group is collapsed)
    now = timezone.now() + dt.timedelta(seconds=1)
    Service.objects.filter(pk=victim.pk).update(
        status=ServiceStatus.DOWN, status_since=now, status_reason="2 failed checks in a row: timed out"
    )
    ServiceFlip.objects.create(service=victim, old_status="up", new_status="down", reason="timed out")
    changed = refresh(client, page)
    body = changed.content.decode()
    assert changed.status_code == 200
    assert rows(body) == ["svc-00002"]  # second of the down group by name, after svc-00000
    assert '<tbody hx-swap-oob="afterend:#r-s-down-' in body
    assert "</span>201 down</a>" in body and "</span>9,279 up</a>" in body  # the counts stay true
    assert len(changed.content) < 15_000, len(changed.content)
    # The down group's page is full: the row pushed past its end leaves, nothing else is sent.
    assert body.count('hx-swap-oob="delete"') == 1
    assert refresh(client, body).status_code == 304
