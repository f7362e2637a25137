"""What other parts add to the service pages without services importing them.

``services`` sits below ``alerts`` and ``metrics``, so a panel that needs their numbers (the
error budget of the availability SLO) is registered here by its part at start-up and rendered
by the services views: a panel on the service page, a column on the services list. Each
provider answers in a fixed number of queries however many services it is given.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.safestring import SafeString

log = logging.getLogger(__name__)

# (service, now) -> the panel's HTML, or None to show nothing
Panel = Callable[[object, dt.datetime], SafeString | None]
# (services, now) -> {service id: cell HTML}
Column = Callable[[list, dt.datetime], dict[int, SafeString]]


@dataclass(frozen=True)
class ColumnSpec:
    title: str
    cells: Column


_panels: dict[str, Panel] = {}
_columns: dict[str, ColumnSpec] = {}


def register_panel(name: str, fn: Panel) -> None:
    _panels[name] = fn


def register_column(name: str, title: str, fn: Column) -> None:
    _columns[name] = ColumnSpec(title, fn)


def panels(service: object, now: dt.datetime) -> list[SafeString]:
    out = []
    for name, fn in _panels.items():
        try:
            html = fn(service, now)
        except Exception:
            log.exception("service panel %s failed", name)
            continue
        if html:
            out.append(html)
    return out


def columns(services: list, now: dt.datetime) -> list[tuple[str, dict[int, SafeString]]]:
    out = []
    for name, spec in _columns.items():
        try:
            out.append((spec.title, spec.cells(services, now)))
        except Exception:
            log.exception("service column %s failed", name)
    return out
