"""Server-rendered SVG pictures: uptime bars, p95 sparklines and latency charts.

Each function returns a SafeString of inline SVG; every piece of text in it is escaped.
Colours come from CSS classes (``cell-up``, ``line-p95`` ...) defined in portal.css.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.services import thresholds
from monitoring.services.thresholds import ALERTING, MISSING, OK, Thresholds

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


def percent(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "\u2013"
    text = f"{value * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def ms(value: float | None) -> str:
    if value is None:
        return "\u2013"
    if value >= 10_000:
        return f"{value / 1000:.0f} s"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms"


def uptime_bar(
    cells: Sequence[Cell], *, width: int = 168, height: int = 18, title: str = "", fluid: bool = False
) -> SafeString:
    """One coloured cell per slot (green: target met, amber: below target, red: alerting, grey: no data).

    ``fluid`` stretches the bar to the width of its container.
    """
    n = max(1, len(cells))
    step = width / n
    gap = 1 if step > 3 else 0
    size = (
        f'width="100%" height="{height}" preserveAspectRatio="none"' if fluid else f'width="{width}" height="{height}"'
    )
    parts = [
        f'<svg class="bars" {size} viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title or "uptime")}">'
    ]
    for i, cell in enumerate(cells):
        tip = f"{cell.label}: {percent(cell.uptime)} of {cell.count} checks" if cell.count else f"{cell.label}: no data"
        parts.append(
            f'<rect class="{cell.css}" x="{i * step:.1f}" y="0" width="{max(step - gap, 1):.1f}" height="{height}"'
            f' rx="1"><title>{escape(tip)}</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text piece above is escaped


@cache
def _strip_geometry(n: int, width: int, height: int) -> tuple[list[str], list[str], str]:
    """Path pieces and x positions of n slots: the same for every bar on a page, so built once."""
    step = width / n
    cell = max(step - (1 if step > 3 else 0), 1)
    shapes = [f"M{i * step:.1f} 0h{cell:.1f}v{height}h-{cell:.1f}z" for i in range(n)]
    return shapes, [f"{i * step:.1f}" for i in range(n)], f"{cell:.1f}"


def uptime_strip(
    slots: Sequence[tuple[int, int]],
    labels: Sequence[str],
    *,
    limits: Thresholds | None,
    width: int = 168,
    height: int = 18,
    title: str = "",
) -> SafeString:
    """The dashboard's compact uptime bar: (checks, failures) per slot.

    Slots that met the target share one path; only the others get their own shape and
    tooltip, which keeps a page of a thousand bars small and quick to build.
    """
    shapes, rect_x, cell = _strip_geometry(max(1, len(slots)), width, height)
    paths: dict[str, list[str]] = {"cell-up": [], "cell-none": []}
    singles: list[str] = []
    for i, (count, failures) in enumerate(slots):
        css = uptime_css(count, failures, limits)
        if css in paths:
            paths[css].append(shapes[i])
        else:
            tip = f"{labels[i]}: {percent((count - failures) / count)} of {count} checks"
            singles.append(
                f'<rect class="{css}" x="{rect_x[i]}" y="0" width="{cell}" height="{height}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    label = escape(title or "uptime")
    parts = [
        f'<svg class="bars" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{label}"><title>{label}</title>'
    ]
    parts.extend(f'<path class="{css}" d="{"".join(d)}"/>' for css, d in paths.items() if d)
    parts.extend(singles)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text piece above is escaped


@cache
def _x_positions(n: int, width: float) -> list[str]:
    step = width / max(1, n - 1)
    return [f"{i * step:.1f}" for i in range(n)]


def _points(values: Sequence[float | None], width: float, height: float, top: float, pad: float = 1.0) -> list[str]:
    """Polyline segments (lists split at gaps) scaled to [0, top]."""
    xs = _x_positions(len(values), width)
    scale = (height - 2 * pad) / top if top > 0 else 0.0
    segments: list[str] = []
    current: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(" ".join(current))
                current = []
            continue
        current.append(f"{xs[i]},{height - pad - min(value, top) * scale:.1f}")
    if current:
        segments.append(" ".join(current))
    return segments


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 22, title: str = "") -> SafeString:
    """A small line of values (p95 per hour); gaps where there is no data."""
    present = [v for v in values if v is not None]
    label = title or (f"p95 max {ms(max(present))}" if present else "no data")
    parts = [
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    if present:
        top = max(present) * 1.1 or 1.0
        for segment in _points(values, width, height, top, pad=2.0):
            if " " not in segment:
                x, y = segment.split(",")
                parts.append(f'<circle class="line-p95" cx="{x}" cy="{y}" r="1.5"/>')
            else:
                parts.append(f'<polyline class="line-p95" points="{segment}"/>')
    else:
        parts.append(f'<line class="axis" x1="0" y1="{height / 2}" x2="{width}" y2="{height / 2}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - the only text is escaped


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power


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
    left, right, top_pad, bottom = 48, 8, 8, 20
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for p in points for v in (p.p50, p.p95) if v is not None]
    top = _nice_top(max(values) * 1.05 if values else 100.0)
    span = max((end - start).total_seconds(), 1.0)

    def x_of(moment: dt.datetime) -> float:
        return left + plot_w * min(max((moment - start).total_seconds() / span, 0.0), 1.0)

    def y_of(value: float) -> float:
        return top_pad + plot_h - (min(value, top) / top) * plot_h

    label = title or "latency"
    parts = [
        f'<svg class="chart" width="100%" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet"'
        f' role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for i in range(5):
        value = top * i / 4
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(ms(value))}</text>')
    fmt = "%H:%M" if span <= 2 * 86400 else "%b %d"
    for i in range(5):
        moment = start + (end - start) * (i / 4)
        anchor = "start" if i == 0 else ("end" if i == 4 else "middle")
        parts.append(
            f'<text class="tick" x="{x_of(moment):.1f}" y="{height - 5}" text-anchor="{anchor}">'
            f"{escape(moment.strftime(fmt))}</text>"
        )
    if threshold_ms is not None and threshold_ms <= top:
        y = y_of(threshold_ms)
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}">'
            f"<title>degraded above {escape(ms(threshold_ms))}</title></line>"
        )
    for attr, css in (("p50", "line-p50"), ("p95", "line-p95")):
        segment: list[str] = []
        segments: list[list[str]] = []
        for p in points:
            value = getattr(p, attr)
            if value is None:
                if segment:
                    segments.append(segment)
                    segment = []
                continue
            segment.append(f"{x_of(p.start):.1f},{y_of(value):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle class="{css}" cx="{cx}" cy="{cy}" r="2"/>')
            else:
                parts.append(f'<polyline class="{css}" points="{" ".join(seg)}"/>')
    if not values:
        parts.append(
            f'<text class="tick" x="{left + plot_w / 2:.1f}" y="{top_pad + plot_h / 2:.1f}" text-anchor="middle">'
            "no data in this window</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text piece above is escaped
