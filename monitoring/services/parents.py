"""Parent links between services: finding a cycle, and walking up a chain a bounded number of steps.

A parent holds its children's alerts while it is down, so a cycle (A's parent is B, B's is A)
would hold both alerts forever. Cycles are refused wherever a parent is set (form, admin,
import); ``ancestors`` still stops on one, in case bad data got in some other way.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

# No real chain of services is this deep; the walk stops here whatever the data says.
MAX_DEPTH = 32


def ancestors(start: K, parents: Mapping[K, K | None], limit: int = MAX_DEPTH) -> Iterator[K]:
    """The parent of ``start``, its parent and so on; stops at a repeat, at ``start`` itself, or after ``limit``."""
    seen = {start}
    current = parents.get(start)
    steps = 0
    while current is not None and current not in seen and steps < limit:
        yield current
        seen.add(current)
        current = parents.get(current)
        steps += 1


def find_cycle(start: K, parents: Mapping[K, K | None], limit: int = 10_000) -> list[K] | None:
    """The cycle through ``start`` as [start, parent, ..., start], or None when the chain ends."""
    chain = [start]
    current = parents.get(start)
    while current is not None and len(chain) <= limit:
        chain.append(current)
        if current == start:
            return chain
        if current in chain[:-1]:
            return None  # a cycle above start that start is not part of; found when checking its members
        current = parents.get(current)
    return None


def cycle_message(names: list[str]) -> str:
    return "Parent cycle: " + " → ".join(names) + " (a service cannot be its own ancestor)."
