"""The board of the dashboard: every matching service in groups (by state, kind or tag), worst first.

On a large board a healthy group (only up or paused services) is one line with its counts and
24-hour uptime, and a group that needs attention lists only the services that need it; either
opens on request (``open=<group>``). Rows are paged within a group (``page=<group>:<n>``) and the
board as a whole stops expanding groups after ``BOARD_ROWS`` rows, so a page stays small at
any number of services. One narrow query reads every matching service (name, kind, state); the
grouping, sorting and paging are done here, in Python.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.db.models import QuerySet, Sum

from monitoring.dashboard.forms import Grouping
from monitoring.services.choices import Resolution, ServiceKind, ServiceStatus
from monitoring.services.models import CheckRollup, Service
from monitoring.services.rollups import floor_time

# Worst first: what needs attention is at the top.
STATUS_ORDER = {
    ServiceStatus.DOWN: 0,
    ServiceStatus.DEGRADED: 1,
    ServiceStatus.UNKNOWN: 2,
    ServiceStatus.UP: 3,
    ServiceStatus.PAUSED: 4,
}
STATES = tuple(STATUS_ORDER)
ATTENTION = frozenset({ServiceStatus.DOWN, ServiceStatus.DEGRADED, ServiceStatus.UNKNOWN})

GROUP_ROWS = 25  # rows per page within a group
BOARD_ROWS = 200  # groups expand by themselves until the board shows this many rows
SMALL_BOARD = 100  # up to this many services nothing is collapsed or paged
MAX_GROUPS = 60  # tag grouping with more tags than this: the rest are counted, not listed
UNTAGGED = "~"  # the group key of services without a tag (a tag is a slug, never "~")

# Group modes: nothing listed, only the services that need attention, or every service.
COLLAPSED, ATTENTION_ONLY, ALL = "collapsed", "attention", "all"


@dataclass(frozen=True, slots=True)
class Entry:
    """One service as the layout needs it: its kind and its effective state.

    Its name (fetched for sorting only) and what its row shows are kept for the listed rows
    only (rows.Detail).
    """

    pk: int
    kind: str
    status: str


def fetch(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset as plain tuples, built by the ORM, fetched by the cursor.

    For the 10,000-row reads of the board: Django's per-row iteration costs five times the fetch,
    and these columns (integers, text, booleans) need none of its conversions.
    """
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def read_entries(services: QuerySet[Service]) -> list[Entry]:
    """Every service of ``services``, worst first, then by name (one query of five narrow columns).

    Sorted here: the database compares names through the collation (strcoll), which for 10,000
    names cost more than fetching them and sorting in Python.
    """
    order, paused = STATUS_ORDER, ServiceStatus.PAUSED
    rows = fetch(services.order_by().values_list("pk", "kind", "status", "enabled", "name"))
    entries = [
        (order.get(status if enabled else paused, 9), name.lower(), pk, kind, status, enabled)
        for pk, kind, status, enabled, name in rows
    ]
    entries.sort()
    return [Entry(pk, kind, status if enabled else paused) for _r, _n, pk, kind, status, enabled in entries]


SETTLED_MINUTE = 5  # results of an hour still arriving a few minutes after it ended are counted then


def _hour_sums(start: dt.datetime, end: dt.datetime | None = None) -> dict[int, tuple[int, int]]:
    """service id -> (checks, failures) of the hourly rollups from ``start`` (before ``end``), one query."""
    rows = CheckRollup.objects.filter(resolution=Resolution.HOUR, start__gte=start)
    if end is not None:
        rows = rows.filter(start__lt=end)
    grouped = rows.values("service_id").annotate(c=Sum("count"), f=Sum("failures")).order_by()
    return {sid: (c or 0, f or 0) for sid, c, f in grouped.values_list("service_id", "c", "f")}


def uptime_sums(
    first_hour: dt.datetime, now: dt.datetime, services: QuerySet[Service] | None = None
) -> dict[int, tuple[int, int]]:
    """service id -> (checks, failures) over the 24 hourly slots from ``first_hour``.

    The 23 complete hours of every service are summed once and kept in the cache until the hour
    turns (and once more SETTLED_MINUTE minutes into it, for the last results of the hour before):
    for 10,000 services that reads 230,000 index entries, most of a page's time. The current hour,
    one row per service at most, is read on every request: for the matching ``services`` only,
    or for every service when the board is not filtered (None: no join needed).
    """
    current = floor_time(now, Resolution.HOUR)
    key = f"dashboard-hours:{int(first_hour.timestamp())}:{int(now.minute >= SETTLED_MINUTE)}"
    past = cache.get(key)
    if not isinstance(past, dict):
        past = _hour_sums(first_hour, current)
        cache.set(key, past, 3600)
    sums = dict(past)
    rows = CheckRollup.objects.filter(resolution=Resolution.HOUR, start=current)
    if services is not None:
        rows = rows.filter(service__in=services.values("pk"))
    for sid, c, f in fetch(rows.order_by().values_list("service_id", "count", "failures")):
        old_c, old_f = sums.get(sid, (0, 0))
        sums[sid] = (old_c + c, old_f + f)
    return sums


@dataclass
class BoardView:
    """What the viewer opened and paged, read from the query string (and the link just followed)."""

    grouping: str = Grouping.STATE
    opened: set[str] = field(default_factory=set)
    pages: dict[str, int] = field(default_factory=dict)

    MAX_KEYS = 100

    @classmethod
    def read(cls, query: Mapping[str, Any], grouping: str) -> BoardView:
        """``open`` and ``page`` as the page holds them, then ``show``, ``hide`` and ``goto`` from a link."""
        getlist = getattr(query, "getlist", lambda name: [])
        view = cls(grouping=grouping)
        view.opened = {k for k in getlist("open")[: cls.MAX_KEYS] if _is_key(k)}
        for raw in getlist("page")[: cls.MAX_KEYS] + getlist("goto")[:1]:
            key, _, number = raw.rpartition(":")
            if _is_key(key) and number.isdigit() and len(number) <= 6:
                view.pages[key] = int(number)
        for key in getlist("show")[:1]:
            if _is_key(key):
                view.opened.add(key)
                view.pages.pop(key, None)
        for key in getlist("hide")[:1]:
            view.opened.discard(key)
            view.pages.pop(key, None)
        return view

    def items(
        self, *, opened: Iterable[str] | None = None, pages: Mapping[str, int] | None = None
    ) -> list[tuple[str, str]]:
        """The view as query-string pairs (``open`` and ``page``), optionally with other values."""
        opened = self.opened if opened is None else opened
        pages = self.pages if pages is None else pages
        return [("open", key) for key in sorted(opened)] + [
            ("page", f"{key}:{n}") for key, n in sorted(pages.items()) if n > 1
        ]


def _is_key(key: str) -> bool:
    return 0 < len(key) <= 100 and key.isprintable() and ":" not in key


@dataclass
class Group:
    """One group of the board: its services (worst first), what is listed and which page of it."""

    key: str
    dom: str  # element id of its <tbody>; rows are r-<dom without "g-">-<pk>
    label: str
    members: list[Entry]
    counts: dict[str, int]
    mode: str = COLLAPSED
    page: int = 1
    pages: int = 1
    rows: list[Entry] = field(default_factory=list)
    listed: int = 0  # how many services the mode lists (over all pages)
    opened: bool = False  # opened by the viewer (``open=<key>``), so it can be closed again
    held: bool = False  # needs attention but collapsed: the board's row budget was spent above it
    uptime: float | None = None

    @property
    def states(self) -> list[tuple[str, int]]:
        """(state, count) of the states present in the group, worst first."""
        return [(s, self.counts[s]) for s in STATES if self.counts.get(s)]

    @property
    def total(self) -> int:
        return len(self.members)

    @property
    def attention(self) -> int:
        return sum(n for state, n in self.counts.items() if state in ATTENTION)

    @property
    def healthy(self) -> bool:
        return not self.attention

    @property
    def hidden(self) -> int:
        """Services of the group not listed in its mode (the healthy ones of an attention group)."""
        return self.total - self.listed if self.mode != COLLAPSED else self.total

    @property
    def first(self) -> int:
        return (self.page - 1) * GROUP_ROWS + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def worst(self) -> str:
        return min(self.counts, key=lambda s: STATUS_ORDER.get(s, 9)) if self.counts else ""

    @property
    def row_prefix(self) -> str:
        return "r-" + self.dom[2:] + "-"

    @property
    def has_foot(self) -> bool:
        return self.pages > 1 or (self.mode == ATTENTION_ONLY and self.hidden > 0)


@dataclass
class Board:
    """The whole board: counts per state over every matching service, and its groups."""

    grouping: str
    counts: dict[str, int]
    total: int
    shown: int  # services left after the state filter
    groups: list[Group]
    more_groups: int = 0
    small: bool = False

    @property
    def rows(self) -> list[tuple[Group, Entry]]:
        return [(g, e) for g in self.groups for e in g.rows]


def _dom(grouping: str, key: str) -> str:
    prefix = {Grouping.STATE: "s", Grouping.KIND: "k", Grouping.TAG: "t"}[grouping]
    return "g-none" if key == UNTAGGED else f"g-{prefix}-{key}"


def split(
    entries: Sequence[Entry], grouping: str, tags_of: Mapping[int, list[str]]
) -> list[tuple[str, str, list[Entry]]]:
    """(key, label, members) per group, members keeping the entries' worst-first order.

    By state the five groups are always there, in severity order (an empty one is hidden on the
    page), so a service changing state moves a row instead of reordering the board. By kind and
    by tag the groups that need attention come first, the worst first, then by name.
    """
    if grouping == Grouping.STATE:
        by_state: dict[str, list[Entry]] = {s: [] for s in STATES}
        for e in entries:
            by_state.setdefault(e.status, []).append(e)
        return [(s, ServiceStatus(s).label, by_state[s]) for s in STATES]
    members: dict[str, list[Entry]] = defaultdict(list)
    if grouping == Grouping.KIND:
        for e in entries:
            members[e.kind].append(e)
        labels = dict(ServiceKind.choices)
    else:
        for e in entries:
            for tag in tags_of.get(e.pk) or [UNTAGGED]:
                members[tag].append(e)
        labels = {UNTAGGED: "No tag"}
    groups = [(key, labels.get(key, key), rows) for key, rows in members.items()]
    groups.sort(key=lambda g: (STATUS_ORDER.get(g[2][0].status, 9), g[0] == UNTAGGED, g[1].lower()))
    return groups


def lay_out(
    entries: Sequence[Entry],
    grouping: str,
    view: BoardView,
    *,
    tags_of: Mapping[int, list[str]],
    sums: Mapping[int, tuple[int, int]],
    state: str = "",
) -> Board:
    """The board for ``entries`` (all that the filters other than state match), worst first."""
    counts = dict.fromkeys(STATES, 0)
    counts.update(Counter(e.status for e in entries))
    shown = [e for e in entries if e.status == state] if state else list(entries)
    small = len(shown) <= SMALL_BOARD
    parts = split(shown, grouping, tags_of)
    more = max(len(parts) - MAX_GROUPS, 0)
    budget = BOARD_ROWS
    groups = []
    for key, label, members in parts[:MAX_GROUPS]:
        group = Group(key=key, dom=_dom(grouping, key), label=label, members=members, counts={})
        group.counts = dict(Counter(e.status for e in members))
        group.opened = key in view.opened
        checks = failures = 0
        for e in members:
            c, f = sums.get(e.pk, (0, 0))
            checks += c
            failures += f
        group.uptime = (checks - failures) / checks if checks else None
        if small or group.opened:
            group.mode, group.listed = ALL, len(members)
        elif group.attention:
            group.mode, group.listed = ATTENTION_ONLY, group.attention  # members are worst first
        if group.mode != COLLAPSED and not group.opened and not small and budget <= 0:
            group.mode, group.listed, group.held = COLLAPSED, 0, True
        size = SMALL_BOARD if small else GROUP_ROWS
        group.pages = max(1, math.ceil(group.listed / size))
        group.page = min(max(view.pages.get(key, 1), 1), group.pages)
        start = (group.page - 1) * size
        group.rows = list(members[start : min(start + size, group.listed)])
        budget -= len(group.rows)
        groups.append(group)
    return Board(
        grouping=grouping,
        counts=counts,
        total=len(entries),
        shown=len(shown),
        groups=groups,
        more_groups=more,
        small=small,
    )
