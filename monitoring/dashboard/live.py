"""The board's live refresh: what a page shows, remembered under a token, and the changes since.

Every board sent is summed up as a snapshot (per group: its shape, its head and foot as
checksums, and each listed row as (service, version)) and kept in the cache under a token that
is the checksum of the snapshot itself, so identical boards share one entry. The page carries
its token. A refresh lays the board out again: the same token is a 304; otherwise the answer is
only what differs from the token's snapshot, as htmx out-of-band swaps (rows replaced, deleted
or inserted after their new neighbour, a group's head or foot, the counts), plus the live form
with the new token. An unknown token (expired, or another cache) or a different sequence of
groups gets the whole board.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from typing import Any

from django.core.cache import cache

from monitoring.dashboard.present import BoardPage, Snapshot

SNAPSHOT_SECONDS = 900  # a page hidden longer than this gets the whole board when it looks again
KEY = "dashboard-board:"


def token_of(snapshot: Snapshot) -> str:
    return hashlib.blake2b(json.dumps(snapshot, separators=(",", ":")).encode(), digest_size=8).hexdigest()


def remember(token: str, snapshot: Snapshot) -> None:
    cache.set(KEY + token, snapshot, SNAPSHOT_SECONDS)


def keep(token: str) -> None:
    """The page still shows this board: keep its snapshot for another SNAPSHOT_SECONDS."""
    cache.touch(KEY + token, SNAPSHOT_SECONDS)


def recall(token: str) -> Snapshot | None:
    if not token or len(token) > 32 or not token.isalnum():
        return None
    found = cache.get(KEY + token)
    return found if isinstance(found, dict) else None


def same_frame(old: Snapshot, new: Snapshot) -> bool:
    """Whether rows can be patched: the same groups in the same order, both empty or not."""
    return (
        old.get("empty") == new["empty"]
        and old.get("more") == new["more"]
        and [g[0] for g in old.get("groups", [])] == [g[0] for g in new["groups"]]
    )


def _kept(common: list[int], old_position: dict[int, int]) -> set[int]:
    """The rows that keep their place: a longest run of common rows in the same relative order."""
    # Longest increasing subsequence of old positions, O(n log n) with back-pointers.
    tails: list[int] = []  # old positions
    tail_index: list[int] = []  # index into common of each tail
    back: list[int] = [-1] * len(common)
    for i, pk in enumerate(common):
        pos = old_position[pk]
        j = bisect.bisect_left(tails, pos)
        if j == len(tails):
            tails.append(pos)
            tail_index.append(i)
        else:
            tails[j] = pos
            tail_index[j] = i
        back[i] = tail_index[j - 1] if j else -1
    kept: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        kept.add(common[i])
        i = back[i]
    return kept


def changes(page: BoardPage, old: Snapshot, new: Snapshot, token: str) -> dict[str, Any]:
    """The out-of-band pieces that turn the board of ``old`` into the board of ``new``.

    Per group: a different shape (mode, page, visibility) sends the group whole; otherwise the
    rows that left or moved are deleted, the ones that changed in place replaced, the new or
    moved ones inserted after their new predecessor (in order, so that one exists), and the head
    and foot replaced when their checksum differs. A group where that would be more rows than it
    lists is sent whole too.
    """
    deletes: list[str] = []
    replaced: list[tuple[Any, str]] = []  # (group, pk)
    inserts: list[tuple[Any, int, str]] = []  # (group, pk, id of the element it goes after)
    whole: list[Any] = []
    heads: list[Any] = []
    feet: list[Any] = []
    for group, was, now in zip(page.board.groups, old["groups"], new["groups"], strict=True):
        prefix = group.row_prefix
        if was[1] != now[1]:
            whole.append(group)
            continue
        old_rows = {pk: v for pk, v in was[4]}
        old_position = {pk: i for i, (pk, _v) in enumerate(was[4])}
        new_rows = [(pk, v) for pk, v in now[4]]
        new_pks = {pk for pk, _v in new_rows}
        kept = _kept([pk for pk, _v in new_rows if pk in old_rows], old_position)
        group_deletes = [prefix + str(pk) for pk, _v in was[4] if pk not in new_pks or pk not in kept]
        group_replaced = [pk for pk, v in new_rows if pk in kept and old_rows[pk] != v]
        group_inserts = []
        anchor = "gh-" + group.dom[2:]
        for pk, _v in new_rows:
            if pk not in kept:
                group_inserts.append((group, pk, anchor))
            anchor = prefix + str(pk)
        if len(group_deletes) + len(group_replaced) + len(group_inserts) > max(len(new_rows), 1):
            whole.append(group)
            continue
        deletes += group_deletes
        replaced += [(group, pk) for pk in group_replaced]
        inserts += group_inserts
        if was[2] != now[2]:
            heads.append(group)
        if was[3] != now[3]:
            feet.append(group)
    entries = {e.pk: e for _g, e in page.board.rows}
    wanted = [(g, entries[pk]) for g, pk in replaced] + [(g, entries[pk]) for g, pk, _a in inserts]
    wanted += [(g, e) for g in whole for e in g.rows]
    painted = page.paint(wanted)

    def row(group: Any, pk: int) -> str:
        return painted[group.row_prefix + str(pk)]

    oob = '<tr hx-swap-oob="true" '
    return {
        "deletes": deletes,
        "replaced": [row(g, pk).replace("<tr ", oob, 1) for g, pk in replaced],
        "inserts": [(anchor, row(g, pk)) for g, pk, anchor in inserts],
        "whole": [page.group_html(g, painted, oob=True) for g in whole],
        "heads": [page.heads[g.dom].replace("<tr ", oob, 1) for g in heads],
        "feet": [page.feet[g.dom].replace("<tr ", oob, 1) for g in feet],
        "counts_html": page.counts_html.replace("<nav ", '<nav hx-swap-oob="true" ', 1)
        if old["counts"] != new["counts"]
        else "",
        "live_items": page.live_items(token),
    }
