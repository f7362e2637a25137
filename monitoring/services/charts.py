"""Uptime and latency pictures of services, drawn by opsportal.charts.

This module decides what the colours mean (the "uptime" Metric row's thresholds, read once per
page) and what the tooltips say; opsportal.charts draws. ``percent`` and ``ms`` are the portal's
formatters (opsportal.formatting), re-exported for the services' pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString

from monitoring.services import thresholds
from monitoring.services.thresholds import ALERTING, MISSING, OK, Thresholds
from opsportal import charts
from opsportal.formatting import ms, percent

__all__ = ["Cell", "LatencyPoint", "latency_chart", "ms", "percent", "sparkline", "uptime_bar", "uptime_strip"]

# Uptime colours come from the "uptime" Metric row (target and alert threshold, in percent),
# read once per page with ``uptime_thresholds()`` and handed to every cell and bar.
UPTIME_METRIC = "uptime"
CELL_CSS = {OK: "cell-up", MISSING: "cell-degraded", ALERTING: "cell-down"}


def uptime_thresholds() -> Thresholds | None:
    """The uptime metric's thresholds as its row holds them now (one query)."""
    return thresholds.read(UPTIME_METRIC)


def uptime_css(count: int, failures: int, limits: Thresholds | None) -> str:
    """cell-up (target met), cell-degraded (missed), cell-down (past the alert line), cell-none (no data).

    Without an uptime metric there is nothing to judge by: a slot with failures is amber.
    """
    if not count:
        return "cell-none"
    if limits is None:
        return "cell-degraded" if failures else "cell-up"
    return CELL_CSS[limits.grade(100 * (count - failures) / count)]


@dataclass
class Cell:
    """One slot of an uptime bar: a label for the tooltip, checks and failures in it."""

    label: str
    count: int = 0
    failures: int = 0
    limits: Thresholds | None = None

    @property
    def uptime(self) -> float | None:
        return None if not self.count else (self.count - self.failures) / self.count

    @property
    def css(self) -> str:
        return uptime_css(self.count, self.failures, self.limits)

    @property
    def tip(self) -> str:
        return (
            f"{self.label}: {percent(self.uptime)} of {self.count} checks" if self.count else f"{self.label}: no data"
        )


def uptime_bar(
    cells: Sequence[Cell], *, width: int = 168, height: int = 18, title: str = "", fluid: bool = False
) -> SafeString:
    """One coloured cell per slot (green: target met, amber: below target, red: alerting, grey: no data)."""
    slots = [(cell.css, cell.tip) for cell in cells]
    return charts.cell_bar(slots, width=width, height=height, label=title or "uptime", fluid=fluid)


def uptime_strip(
    slots: Sequence[tuple[int, int]],
    labels: Sequence[str],
    *,
    limits: Thresholds | None,
    width: int = 168,
    height: int = 18,
    title: str = "",
) -> SafeString:
    """The dashboard's compact uptime bar: (checks, failures) per slot; only slots that missed get a tooltip."""
    cells: list[tuple[str, str | None]] = []
    for label, (count, failures) in zip(labels, slots, strict=True):
        css = uptime_css(count, failures, limits)
        quiet = css in ("cell-up", "cell-none")
        cells.append((css, None if quiet else f"{label}: {percent((count - failures) / count)} of {count} checks"))
    return charts.cell_strip(cells, width=width, height=height, label=title or "uptime")


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 22, title: str = "") -> SafeString:
    """p95 per hour as a small line; gaps where there is no data."""
    present = [v for v in values if v is not None]
    label = title or (f"p95 per hour, max {ms(max(present))}" if present else "p95 per hour")
    return charts.sparkline(values, width=width, height=height, label=label, css="line-p95", fmt=ms)


@dataclass
class LatencyPoint:
    start: dt.datetime
    p50: float | None
    p95: float | None


def latency_chart(
    points: Sequence[LatencyPoint],
    *,
    start: dt.datetime,
    end: dt.datetime,
    threshold_ms: float | None = None,
    width: int = 640,
    height: int = 170,
    title: str = "",
) -> SafeString:
    """p50 and p95 latency over a time range, with a y axis in ms and the degraded threshold dashed."""
    lines = [
        charts.Series("line-p50", [(p.start, p.p50) for p in points], "p50"),
        charts.Series("line-p95", [(p.start, p.p95) for p in points], "p95"),
    ]
    return charts.time_chart(
        lines,
        start=start,
        end=end,
        threshold=threshold_ms,
        threshold_label=f"degraded above {ms(threshold_ms)}" if threshold_ms is not None else "",
        fmt=ms,
        width=width,
        height=height,
        label=title or "latency",
    )
