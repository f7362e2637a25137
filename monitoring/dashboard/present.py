"""The board as HTML: one request's board (filters, view, groups) and each piece of it rendered.

``BoardPage.build(request)`` reads the filters and what the viewer opened, lays the board out
and renders the small pieces (counts, group heads and feet) at once, since their checksums make
the snapshot the live refresh compares against; rows are rendered only when they are sent.
Queries: the tag list of the filter form, the matching services (five narrow columns), their
tags (all of them when grouping by tag, else only the listed rows'), the 24-hour uptime sums
(board.uptime_sums), the listed rows' details, the uptime metric row, and the hourly rollups
of the rows to render that the cache does not hold yet.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from monitoring.dashboard.board import (
    ALL,
    ATTENTION_ONLY,
    STATES,
    Board,
    BoardView,
    Entry,
    Group,
    lay_out,
    read_entries,
    uptime_sums,
)
from monitoring.dashboard.forms import BoardFilterForm, Grouping
from monitoring.dashboard.rows import Detail, RowPainter, details_of, first_hour, tags_of, version
from monitoring.services.charts import uptime_thresholds
from monitoring.services.choices import ServiceStatus
from monitoring.services.models import Service, Tag
from monitoring.services.thresholds import Thresholds

# A snapshot: what one rendered board shows, in checksums (see live.py).
Snapshot = dict[str, Any]


def crc(text: str) -> str:
    return format(zlib.crc32(text.encode()), "08x")


@dataclass
class BoardPage:
    """One request's board and everything needed to render it whole or as changes."""

    form: BoardFilterForm
    view: BoardView
    board: Board
    now: dt.datetime
    tags: dict[int, list[str]]
    details: dict[int, Detail]
    limits: Thresholds | None
    heads: dict[str, str] = field(default_factory=dict)  # group dom -> rendered head row
    feet: dict[str, str] = field(default_factory=dict)
    counts_html: str = ""
    versions: dict[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def build(cls, request: HttpRequest, now: dt.datetime | None = None) -> BoardPage:
        now = now or timezone.now()
        tag_names = dict(Tag.objects.values_list("pk", "name"))
        form = BoardFilterForm(request.GET or None, tags=sorted(tag_names.values()))
        grouping = form.grouping()
        view = BoardView.read(request.GET, grouping)
        services = form.narrow(Service.objects.all())
        entries = read_entries(services)
        # Unfiltered (the usual board), the tag pairs and the current hour need no join with the services.
        filtered = bool(form.filter_items(without=("group", "state")))
        scope = services if filtered else None
        tags = tags_of(tag_names, services=scope) if grouping == Grouping.TAG else {}
        sums = uptime_sums(first_hour(now), now, scope)
        board = lay_out(entries, grouping, view, tags_of=tags, sums=sums, state=form.state())
        listed = {e.pk for _g, e in board.rows}
        if grouping != Grouping.TAG:
            tags = tags_of(tag_names, listed)
        page = cls(
            form=form,
            view=view,
            board=board,
            now=now,
            tags=tags,
            details=details_of(listed),
            limits=uptime_thresholds(),
        )
        page._render_pieces()
        return page

    # -- links ---------------------------------------------------------------------------------

    def filter_items(self, *, without: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return self.form.filter_items(without=without)

    def page_url(self, view_items: Iterable[tuple[str, str]] | None = None) -> str:
        """The dashboard's address for these filters and this view (what the address bar shows)."""
        items = self.filter_items() + list(self.view.items() if view_items is None else view_items)
        base = reverse("monitoring:dashboard")
        return base + ("?" + urlencode(items) if items else "")

    def _link(self, label: str, change: tuple[str, str], view_items: list[tuple[str, str]], **attrs: str) -> dict:
        return {
            "label": label,
            "href": self.page_url(view_items),
            "hx_get": reverse("monitoring:dashboard_services") + "?" + urlencode([change]),
            **attrs,
        }

    def links(self, group: Group) -> dict[str, Any]:
        """The toggle and paging links of a group: real addresses, plus the change htmx asks for."""
        out: dict[str, Any] = {}
        key, view = group.key, self.view
        others = {k: n for k, n in view.pages.items() if k != key}
        if not self.board.small and group.total:
            if group.mode == ALL:
                out["toggle"] = self._link(
                    "Collapse", ("hide", key), view.items(opened=view.opened - {key}, pages=others), expanded="true"
                )
            elif group.hidden:
                label = f"Show all {group.total:,}" if group.mode == ATTENTION_ONLY else f"Show {group.total:,}"
                out["toggle"] = self._link(
                    label, ("show", key), view.items(opened=view.opened | {key}, pages=others), expanded="false"
                )
        for name, number in (("previous", group.page - 1), ("next", group.page + 1)):
            if 1 <= number <= group.pages:
                items = view.items(pages={**others, key: number})
                out[name] = self._link(name.capitalize(), ("goto", f"{key}:{number}"), items)
        return out

    def state_links(self) -> list[dict[str, Any]]:
        """The counts on top, each a link that filters the board to that state."""
        current = self.form.state()
        base = reverse("monitoring:dashboard")
        rest = self.filter_items(without=("state",))
        out = [
            {
                "state": "",
                "label": "all",
                "count": self.board.total,
                "href": base + ("?" + urlencode(rest) if rest else ""),
                "current": not current,
            }
        ]
        for state in STATES:
            items = [*rest, ("state", state)]
            out.append(
                {
                    "state": state,
                    "label": ServiceStatus(state).value,
                    "count": self.board.counts.get(state, 0),
                    "href": base + "?" + urlencode(items),
                    "current": current == state,
                }
            )
        return out

    # -- pieces --------------------------------------------------------------------------------

    def _render_pieces(self) -> None:
        head, foot = get_template("monitoring/_board_head.html"), get_template("monitoring/_board_foot.html")
        hour = first_hour(self.now)
        for g in self.board.groups:
            context = {"g": g, "links": self.links(g), "grouping": self.board.grouping, "small": self.board.small}
            self.heads[g.dom] = head.render(context)
            self.feet[g.dom] = foot.render(context) if g.has_foot else ""
            for e in g.rows:
                self.versions[(g.dom, e.pk)] = version(
                    e, self.details[e.pk], self.tags.get(e.pk, []), hour, self.limits
                )
        self.counts_html = get_template("monitoring/_board_counts.html").render(
            {"state_links": self.state_links(), "board": self.board}
        )

    def shape(self, group: Group) -> list[Any]:
        """What makes a group's <tbody> itself change: its mode, page, visibility, having a foot."""
        return [group.mode, group.page, bool(group.total), group.has_foot]

    def snapshot(self) -> Snapshot:
        return {
            "counts": crc(self.counts_html),
            "empty": not self.board.shown,
            "more": self.board.more_groups,
            "groups": [
                [
                    g.dom,
                    self.shape(g),
                    crc(self.heads[g.dom]),
                    crc(self.feet[g.dom]),
                    [[e.pk, self.versions[(g.dom, e.pk)]] for e in g.rows],
                ]
                for g in self.board.groups
            ],
        }

    def paint(self, rows: Iterable[tuple[Group, Entry]]) -> dict[str, SafeString]:
        """row id -> HTML of the given listed rows (from the cache when their version was rendered)."""
        wanted = [(g.row_prefix + str(e.pk), e, self.versions[(g.dom, e.pk)]) for g, e in rows]
        return RowPainter(self.details, self.tags, self.limits, self.now).paint(wanted)

    def group_html(self, group: Group, painted: dict[str, SafeString], *, oob: bool = False) -> SafeString:
        rows = "".join(painted[group.row_prefix + str(e.pk)] for e in group.rows)
        hidden = "" if group.total else " hidden"
        swap = ' hx-swap-oob="true"' if oob else ""
        return mark_safe(  # noqa: S308 - the head and foot come from templates, the rows from rows.py
            f'<tbody id="{group.dom}" class="svc-group group-{group.mode}"{hidden}{swap}>'
            f"{self.heads[group.dom]}{rows}{self.feet[group.dom]}</tbody>"
        )

    def live_items(self, token: str) -> list[tuple[str, str]]:
        """The live form's values: what the next refresh asks for (filters, view) and the page's token."""
        return [*self.filter_items(), *self.view.items(), ("cursor", token)]

    def board_context(self, token: str, *, oob: bool = False) -> dict[str, Any]:
        painted = self.paint(self.board.rows)
        return {
            "board": self.board,
            "groups_html": [self.group_html(g, painted) for g in self.board.groups],
            "counts_html": mark_safe(self.counts_html),  # noqa: S308 - rendered by a template
            "live_items": self.live_items(token),
            "grouping_label": Grouping(self.board.grouping).label,
            "filtered": bool(self.filter_items(without=("group",))),
            "oob": oob,
            "refreshed_at": self.now,
        }
