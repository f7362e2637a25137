"""The dashboard's services board: grouping, collapsing, paging, addresses, and the live refresh's changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring.dashboard import board as board_module
from monitoring.dashboard.board import BoardView
from monitoring.dashboard.live import _kept
from monitoring.models import Service
from monitoring.services.choices import ServiceStatus
from tests.monitoring.dashboard_live import live_items, refresh, row_ids, rows
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a handful of services behave like a large board: collapse, 2 rows per page."""
    monkeypatch.setattr(board_module, "SMALL_BOARD", 0)
    monkeypatch.setattr(board_module, "GROUP_ROWS", 2)


def cast() -> dict[str, Service]:
    """Three down, one degraded, three up (one tagged), one paused."""
    made = {}
    for slug, status, kind, tags in (
        ("down-a", ServiceStatus.DOWN, "api", ["payments"]),
        ("down-b", ServiceStatus.DOWN, "api", []),
        ("down-c", ServiceStatus.DOWN, "database", []),
        ("slow-a", ServiceStatus.DEGRADED, "frontend", ["payments"]),
        ("up-a", ServiceStatus.UP, "api", []),
        ("up-b", ServiceStatus.UP, "cache", ["payments"]),
        ("up-c", ServiceStatus.UP, "cache", []),
    ):
        made[slug] = ServiceFactory(slug=slug, name=slug, status=status, kind=kind, tags=tags)
    made["off-a"] = ServiceFactory(slug="off-a", name="off-a", status=ServiceStatus.UP, enabled=False)
    return made


def board(client: Client, query: str = "") -> str:
    response = client.get(reverse("monitoring:dashboard") + query)
    assert response.status_code == 200
    return response.content.decode()


def test_by_state_what_is_down_comes_first_and_healthy_groups_are_one_line(
    large: None, client_for: Callable[[str], Client]
) -> None:
    cast()
    body = board(client_for("viewer"))
    groups = [g for g in ("g-s-down", "g-s-degraded", "g-s-unknown", "g-s-up", "g-s-paused") if f'id="{g}"' in body]
    assert groups == ["g-s-down", "g-s-degraded", "g-s-unknown", "g-s-up", "g-s-paused"]
    assert '<tbody id="g-s-unknown" class="svc-group group-collapsed" hidden>' in body  # empty: hidden
    # Down first, two per page; then degraded; up and paused are summary lines with a link to open.
    assert rows(body) == ["down-a", "down-b", "slow-a"]
    assert "1\u20132 of 3 · page 1 of 2" in body
    up_head = body[body.index('id="gh-s-up"') :]
    up_head = up_head[: up_head.index("</tr>")]
    assert "3 services" in up_head  # the disabled one is in the paused group
    assert 'href="/?open=up"' in up_head and 'aria-expanded="false"' in up_head
    # Counts on top: every state, for the whole set, each a link filtering the board.
    assert 'data-testid="count-down" aria-current' not in body
    assert ">3 down</a>" in body.replace('<span class="shape shape-down" aria-hidden="true"></span>', "")


def test_counts_stay_true_for_the_whole_set_when_the_board_is_filtered_by_state(
    large: None, client_for: Callable[[str], Client]
) -> None:
    cast()
    body = board(client_for("viewer"), "?state=up")
    assert rows(body) == []  # up is healthy: collapsed even when it is all there is
    plain = body.replace('<span class="shape shape-down" aria-hidden="true"></span>', "")
    assert ">3 down</a>" in plain and "8 services" in body
    assert 'data-testid="count-up" aria-current="page"' in body
    assert rows(board(client_for("viewer"), "?state=up&open=up")) == ["up-a", "up-b"]


def test_opening_and_paging_a_group_are_addresses_and_htmx_links(
    large: None, client_for: Callable[[str], Client]
) -> None:
    cast()
    client = client_for("viewer")
    assert rows(board(client, "?page=down:2")) == ["down-c", "slow-a"]
    assert rows(board(client, "?open=up&page=up:2")) == ["down-a", "down-b", "slow-a", "up-c"]
    page = board(client)
    # "Next" in the down group: the real address, and the change htmx asks for with the live form.
    assert 'href="/?page=down%3A2" hx-get="/dashboard/services/?goto=down%3A2"' in page
    moved = refresh(client, page, ("goto", "down:2"), trigger="")
    assert moved.status_code == 200
    assert moved["HX-Push-Url"] == "/?page=down%3A2"
    assert ("page", "down:2") in live_items(moved.content.decode())
    # The down group changed page: sent whole, out of band; nothing else is.
    assert rows(moved.content.decode()) == ["down-c"]
    assert '<tbody id="g-s-down" class="svc-group group-attention" hx-swap-oob="true">' in moved.content.decode()
    opened = refresh(client, moved.content.decode(), ("show", "up"), trigger="")
    assert opened["HX-Push-Url"] == "/?open=up&page=down%3A2"
    assert rows(opened.content.decode()) == ["up-a", "up-b"]


def test_grouping_by_kind_and_by_tag(large: None, client_for: Callable[[str], Client]) -> None:
    cast()
    client = client_for("viewer")
    by_kind = board(client, "?group=kind")
    order = sorted(("g-k-api", "g-k-database", "g-k-frontend", "g-k-cache"), key=by_kind.index)
    # Groups that need attention first, the worst first, then by name; healthy kinds collapsed.
    assert order == ["g-k-api", "g-k-database", "g-k-frontend", "g-k-cache"]
    assert rows(by_kind) == ["down-a", "down-b", "down-c", "slow-a"]
    assert "2 healthy not listed" in by_kind  # up-a and the paused off-a, in the api group
    by_tag = board(client, "?group=tag")
    assert by_tag.index('id="g-t-payments"') < by_tag.index('id="g-none"')
    assert rows(by_tag) == ["down-a", "slow-a", "down-b", "down-c"]
    assert "No tag" in by_tag


def test_a_small_board_lists_everything_grouped_worst_first(client_for: Callable[[str], Client]) -> None:
    cast()
    body = board(client_for("viewer"))
    assert rows(body) == ["down-a", "down-b", "down-c", "slow-a", "up-a", "up-b", "up-c", "off-a"]
    assert "group-toggle" not in body  # no Show or Collapse links


def test_refresh_is_a_304_when_nothing_changed_and_only_the_changed_pieces_otherwise(
    client_for: Callable[[str], Client],
) -> None:
    made = cast()
    client = client_for("viewer")
    page = board(client)
    assert refresh(client, page).status_code == 304
    # A new check result on one service: that row alone, replaced in place.
    Service.objects.filter(pk=made["up-b"].pk).update(last_checked_at=timezone.now(), last_ok=True, last_latency_ms=42)
    changed = refresh(client, page)
    body = changed.content.decode()
    assert changed.status_code == 200 and rows(body) == ["up-b"]
    assert '<tr hx-swap-oob="true" id="r-s-up-' in body and "42 ms" in body
    assert 'id="svc-counts"' not in body  # the counts did not change
    # One flip: the row leaves the up group and joins the down group after its new neighbour.
    Service.objects.filter(pk=made["up-c"].pk).update(status=ServiceStatus.DOWN, status_reason="2 failed checks")
    flipped = refresh(client, body)
    body = flipped.content.decode()
    assert rows(body) == ["up-c"]
    assert f'<tr id="r-s-up-{made["up-c"].pk}" hx-swap-oob="delete"></tr>' in body
    assert f'<tbody hx-swap-oob="afterend:#r-s-down-{made["down-c"].pk}">' in body
    assert '<nav hx-swap-oob="true" id="svc-counts"' in body
    assert 'id="gh-s-down"' in body and 'id="gh-s-up"' in body  # their heads: new totals
    assert refresh(client, body).status_code == 304


def test_a_state_appearing_shows_its_group_and_an_unknown_cursor_gets_the_whole_board(
    client_for: Callable[[str], Client],
) -> None:
    made = cast()
    client = client_for("viewer")
    page = board(client)
    Service.objects.filter(pk=made["up-a"].pk).update(status=ServiceStatus.UNKNOWN)
    body = refresh(client, page).content.decode()
    assert '<tbody id="g-s-unknown" class="svc-group group-all" hx-swap-oob="true">' in body
    assert rows(body) == ["up-a"]
    stale = page.replace(dict(live_items(page))["cursor"], "0123456789abcdef")
    whole = refresh(client, stale).content.decode()
    assert '<div id="svc-table" class="svc-live" data-testid="services-board" hx-swap-oob="true">' in whole
    assert len(rows(whole)) == 8


def test_a_row_that_moves_within_its_group_is_deleted_and_inserted(client_for: Callable[[str], Client]) -> None:
    made = cast()
    client = client_for("viewer")
    page = board(client, "?group=kind")
    Service.objects.filter(pk=made["up-a"].pk).update(status=ServiceStatus.DOWN, name="aaa")
    body = refresh(client, page).content.decode()
    pk = made["up-a"].pk
    assert row_ids(body) == [f"r-k-api-{pk}"]
    assert f'<tr id="r-k-api-{pk}" hx-swap-oob="delete"></tr>' in body
    assert '<tbody hx-swap-oob="afterend:#gh-k-api">' in body  # first of its group now


def test_longest_kept_run() -> None:
    old = {pk: i for i, pk in enumerate([1, 2, 3, 4, 5])}
    assert _kept([2, 3, 1, 4, 5], old) == {2, 3, 4, 5}
    assert _kept([5, 4, 3], old) in ({3}, {4}, {5})
    assert _kept([], old) == set()


@pytest.mark.parametrize(
    "query",
    [
        "?page=down:abc&page=:3&page=down:99999999&open=" + "x" * 300,
        "?goto=down:-1&show=&hide=nothing&group=nonsense&cursor=../../etc",
        "?state=down&group=tag&open=~&page=~:2&cursor=" + "f" * 40,
    ],
)
def test_malformed_view_values_are_ignored(query: str, client_for: Callable[[str], Client]) -> None:
    cast()
    client = client_for("viewer")
    assert client.get(reverse("monitoring:dashboard") + query).status_code == 200
    response = client.get(reverse("monitoring:dashboard_services") + query, HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_board_view_reads_open_and_pages_then_the_link_change() -> None:
    from django.http import QueryDict

    view = BoardView.read(QueryDict("open=up&page=down:3&page=up:2&goto=up:4&hide=up&show=cache"), "state")
    assert view.opened == {"cache"}
    assert view.pages == {"down": 3}
    assert view.items() == [("open", "cache"), ("page", "down:3")]


def test_the_board_is_semantic_and_states_have_a_shape(client_for: Callable[[str], Client], large: Any) -> None:
    cast()
    body = board(client_for("viewer"))
    assert '<th scope="rowgroup" colspan="6">' in body and '<th scope="row">' in body
    assert '<th scope="col">Service</th>' in body and "<caption" in body
    assert '<label for="id_group">Group by' in body and '<label for="id_q">Search' in body
    assert '<span class="shape shape-down" aria-hidden="true"></span>3 down' in body
