"""Server-rendered SVG pictures for every page: one sparkline, cell bars, a time chart, bars, columns, lanes.

Each function returns a SafeString of inline SVG in which every piece of text is escaped. Each picture
is ``role="img"`` with an accessible name that gives the figures it draws (lowest, highest and latest
value of a line; slots per state and the ones that missed of a bar; every row of a bar list), for
readers who cannot see it. Colours
come from CSS classes only (``cell-up``, ``line-p95``, ``spark-alerting``, ``bar-failed`` ...,
defined in static/css/portal.css), so a picture follows the page's palette and no hex value is
repeated in Python. What a colour *means* (which uptime is good) is decided by the caller, which
passes the class.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from opsportal.formatting import ms


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _range_text(values: Sequence[float | None], fmt: Callable[[float], str]) -> str:
    """``lowest 3 ms, highest 9 ms, latest 5 ms (20 of 24 with data)``: what a line shows, in words."""
    present = [v for v in values if v is not None]
    if not present:
        return "no data"
    latest = next(v for v in reversed(values) if v is not None)
    text = f"lowest {fmt(min(present))}, highest {fmt(max(present))}, latest {fmt(latest)}"
    if len(present) < len(values):
        text += f" ({len(present)} of {len(values)} with data)"
    return text


# What the shared cell classes mean, for the text of a bar (other classes are named without their prefix).
CELL_WORDS = {
    "cell-up": "met the target",
    "cell-degraded": "below target",
    "cell-down": "alerting",
    "cell-none": "no data",
}
QUIET_CELLS = ("cell-up", "cell-none", "bar-ok", "bar-none")
LISTED = 12


def _cells_text(cells: Sequence[tuple[str, str | None]]) -> str:
    """``24 slots: 21 met the target, 2 below target, 1 alerting. 09:00: 97% of 60 checks; ...``."""
    counts: dict[str, int] = {}
    for css, _tip in cells:
        counts[css] = counts.get(css, 0) + 1
    words = ", ".join(
        f"{n} {CELL_WORDS.get(css, css.split('-', 1)[-1])}" for css, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    text = f"{len(cells)} slots: {words}"
    notable = [tip for css, tip in cells if tip and css not in QUIET_CELLS]
    if notable:
        more = f"; {len(notable) - LISTED} more" if len(notable) > LISTED else ""
        text += ". " + "; ".join(notable[:LISTED]) + more
    return text


def _named(label: str, figures: str) -> str:
    return f"{label}: {figures}" if label else figures


def _svg(css: str, width: float, height: float, label: str, *, size: str = "", extra: str = "") -> str:
    """The opening tag (with an accessible name and a tooltip title) of a picture."""
    name = escape(label)
    size = size or f'width="{width:g}" height="{height:g}"'
    return (
        f'<svg class="{css}" {size} viewBox="0 0 {width:g} {height:g}"{extra} role="img" aria-label="{name}">'
        f"<title>{name}</title>"
    )


FLUID = 'width="100%" height="{height:g}" preserveAspectRatio="none"'


def _done(parts: list[str]) -> SafeString:
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - callers escape every text piece they add


def _segments(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points, split where a point is missing."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for point in points:
        if point is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(point)
    if current:
        runs.append(current)
    return runs


def _lines(points: Sequence[tuple[float, float] | None], css: str, radius: float) -> list[str]:
    """A polyline per run of points, a dot for a point standing alone."""
    out = []
    for run in _segments(points):
        if len(run) == 1:
            out.append(f'<circle class="{css}" cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="{radius:g}"/>')
        else:
            out.append(f'<polyline class="{css}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in run)}"/>')
    return out


@cache
def _x_positions(n: int, width: float, pad: float) -> tuple[float, ...]:
    step = (width - 2 * pad) / max(1, n - 1)
    return tuple(pad + i * step for i in range(n))


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 22,
    label: str = "",
    css: str = "line-p95",
    threshold: float | None = None,
    from_zero: bool = True,
    mark_last: bool = False,
    fmt: Callable[[float], str] = _num,
) -> SafeString:
    """A small line of values, broken where a value is None; its name says lowest, highest and latest (``fmt``).

    ``from_zero`` scales from 0 to just above the largest value (latencies); otherwise from the
    smallest to the largest (percentages that hover near a line). ``threshold`` draws the alert
    line dashed and is kept inside the scale; ``mark_last`` puts a dot on the latest value.
    """
    present = [v for v in values if v is not None]
    if not present:
        parts = [_svg("spark", width, height, f"{label}: no data" if label else "no data")]
        parts.append(f'<line class="axis" x1="0" y1="{height / 2:g}" x2="{width}" y2="{height / 2:g}"/>')
        return _done(parts)
    scale = present + ([threshold] if threshold is not None else [])
    pad = 2.0
    if from_zero:
        low, high = 0.0, (max(scale) * 1.1) or 1.0
    else:
        low, high = min(scale), max(scale)
        if high == low:
            low, high = low - 1, high + 1

    def y_of(value: float) -> float:
        return pad + (height - 2 * pad) * (1 - (min(max(value, low), high) - low) / (high - low))

    xs = _x_positions(len(values), width, 0.0 if from_zero else pad)
    points = [None if v is None else (xs[i], y_of(v)) for i, v in enumerate(values)]
    figures = _range_text(values, fmt)
    if threshold is not None:
        figures += f"; alert line {fmt(threshold)}"
    parts = [_svg("spark", width, height, _named(label, figures))]
    if threshold is not None:
        parts.append(f'<path class="threshold" d="M0 {y_of(threshold):.1f}H{width}"/>')
    parts.extend(_lines(points, css, 1.5))
    if mark_last:
        x, y = next(p for p in reversed(points) if p is not None)
        parts.append(f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="2.2"/>')
    return _done(parts)


def cell_bar(
    cells: Sequence[tuple[str, str]], *, width: int = 168, height: int = 18, label: str = "", fluid: bool = False
) -> SafeString:
    """One coloured cell per slot: (css class, tooltip). ``fluid`` stretches it to its container."""
    n = max(1, len(cells))
    step = width / n
    gap = 1 if step > 3 else 0
    size = FLUID.format(height=height) if fluid else ""
    parts = [_svg("bars", width, height, _named(label, _cells_text(cells)), size=size)]
    for i, (css, tip) in enumerate(cells):
        parts.append(
            f'<rect class="{css}" x="{i * step:.1f}" y="0" width="{max(step - gap, 1):.1f}" height="{height}"'
            f' rx="1"><title>{escape(tip)}</title></rect>'
        )
    return _done(parts)


@cache
def _strip_geometry(n: int, width: int, height: int) -> tuple[list[str], list[str], str]:
    """Path pieces and x positions of n slots: the same for every strip on a page, so built once."""
    step = width / n
    cell = max(step - (1 if step > 3 else 0), 1)
    shapes = [f"M{i * step:.1f} 0h{cell:.1f}v{height}h-{cell:.1f}z" for i in range(n)]
    return shapes, [f"{i * step:.1f}" for i in range(n)], f"{cell:.1f}"


def cell_strip(
    cells: Sequence[tuple[str, str | None]], *, width: int = 168, height: int = 18, label: str = ""
) -> SafeString:
    """A compact cell bar for long lists: (css class, tooltip or None) per slot.

    Cells without a tooltip share one path per class; only the others get their own shape, which
    keeps a page of a thousand strips small and quick to build.
    """
    shapes, rect_x, cell = _strip_geometry(max(1, len(cells)), width, height)
    shared: dict[str, list[str]] = {}
    singles: list[str] = []
    for i, (css, tip) in enumerate(cells):
        if tip is None:
            shared.setdefault(css, []).append(shapes[i])
        else:
            singles.append(
                f'<rect class="{css}" x="{rect_x[i]}" y="0" width="{cell}" height="{height}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    parts = [_svg("bars", width, height, _named(label, _cells_text(cells)))]
    parts.extend(f'<path class="{css}" d="{"".join(d)}"/>' for css, d in shared.items())
    parts.extend(singles)
    return _done(parts)


def nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power


@dataclass
class Series:
    """One line of a time chart: its CSS class, (time, value or None) points, its name in the chart's text."""

    css: str
    points: Sequence[tuple[dt.datetime, float | None]]
    name: str = ""


def time_chart(
    series: Sequence[Series],
    *,
    start: dt.datetime,
    end: dt.datetime,
    threshold: float | None = None,
    threshold_label: str = "",
    fmt: Callable[[float], str] = ms,
    width: int = 640,
    height: int = 170,
    label: str = "",
) -> SafeString:
    """Lines over a time range with a y axis (ticks written by ``fmt``) and a dashed threshold."""
    left, right, top_pad, bottom = 48, 8, 8, 20
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for s in series for _t, v in s.points if v is not None]
    top = nice_top(max(values) * 1.05 if values else 100.0)
    span = max((end - start).total_seconds(), 1.0)

    def x_of(moment: dt.datetime) -> float:
        return left + plot_w * min(max((moment - start).total_seconds() / span, 0.0), 1.0)

    def y_of(value: float) -> float:
        return top_pad + plot_h - (min(value, top) / top) * plot_h

    figures = "; ".join(
        f"{line.name or line.css.removeprefix('line-')} {_range_text([v for _t, v in line.points], fmt)}"
        for line in series
    )
    if threshold is not None:
        figures += f"; {threshold_label or 'threshold ' + fmt(threshold)}"
    name = _named(label or "chart", f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}; {figures}")
    parts = [_svg("chart", width, height, name, size='width="100%"', extra=' preserveAspectRatio="xMinYMin meet"')]
    for i in range(5):
        value = top * i / 4
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    stamp = "%H:%M" if span <= 2 * 86400 else "%b %d"
    for i in range(5):
        moment = start + (end - start) * (i / 4)
        anchor = "start" if i == 0 else ("end" if i == 4 else "middle")
        parts.append(
            f'<text class="tick" x="{x_of(moment):.1f}" y="{height - 5}" text-anchor="{anchor}">'
            f"{escape(moment.strftime(stamp))}</text>"
        )
    if threshold is not None and threshold <= top:
        y = y_of(threshold)
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}">'
            f"<title>{escape(threshold_label or fmt(threshold))}</title></line>"
        )
    for line in series:
        points = [None if v is None else (x_of(t), y_of(v)) for t, v in line.points]
        parts.extend(_lines(points, line.css, 2))
    if not values:
        parts.append(
            f'<text class="tick" x="{left + plot_w / 2:.1f}" y="{top_pad + plot_h / 2:.1f}" text-anchor="middle">'
            "no data in this window</text>"
        )
    return _done(parts)


def ratio_bar(
    value: float | None, *, css: str = "bar-ok", width: int = 160, height: int = 12, label: str = ""
) -> SafeString:
    """A filled share of a track for a ratio from 0 to 1 (cache hit rate, error budget left)."""
    share = min(max(value or 0.0, 0.0), 1.0)
    parts = [_svg("ratio", width, height, _named(label, "no data" if value is None else f"{share * 100:.0f}%"))]
    parts.append(f'<rect class="track" width="{width}" height="{height}" rx="3"/>')
    parts.append(f'<rect class="{css}" width="{width * share:.1f}" height="{height}" rx="3"/>')
    return _done(parts)


@dataclass
class Bar:
    """One row of a bar list: a short name, its value, a CSS class and a tooltip."""

    name: str
    value: float
    css: str
    title: str = ""


def bars(rows: Sequence[Bar], *, width: int = 420, fmt: Callable[[float], str] = str, label: str = "") -> SafeString:
    """Horizontal bars, one per row, scaled to the longest, each with its value written after it."""
    if not rows:
        return mark_safe("")
    longest = max([r.value for r in rows] + [0.001])
    row, label_w = 18, 90
    height = row * len(rows) + 4
    figures = "; ".join(f"{r.name} {fmt(r.value)}" for r in rows)
    parts = [_svg("hbars", width, height, _named(label, figures))]
    for i, item in enumerate(rows):
        w = max(2.0, (width - 70 - label_w) * item.value / longest)
        y = 2 + i * row
        parts.append(
            f'<text class="label" x="{label_w - 6}" y="{y + row - 8}" text-anchor="end">{escape(item.name[:14])}</text>'
            f'<rect class="{item.css}" x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 5}" rx="2">'
            f"<title>{escape(item.title or item.name)}</title></rect>"
            f'<text class="value" x="{label_w + w + 5:.1f}" y="{y + row - 8}">{escape(fmt(item.value))}</text>'
        )
    return _done(parts)


def columns(
    points: Sequence[tuple[str, float | None, str, str]],
    *,
    width: int = 720,
    height: int = 140,
    label: str = "",
    css: str = "columns",
) -> SafeString:
    """One column per (label, share 0..1 or None, css class, tooltip), oldest left, on a 0-50-100 % grid.

    A None share is drawn as a stub (no figure yet); at most about eight labels are written.
    """
    left, right, top, bottom = 34.0, 8.0, 8.0, 22.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(min(slot * 0.7, 28.0), 2.0)
    figures = "; ".join(
        tip or (name if share is None else f"{name} {share * 100:.0f}%") for name, share, _c, tip in points
    )
    parts = [_svg(css, width, height, _named(label or "columns", figures), extra=' xmlns="http://www.w3.org/2000/svg"')]
    for frac, text in ((0.0, "0%"), (0.5, "50%"), (1.0, "100%")):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{text}</text>')
    every = max(1, n // 8)
    for i, (name, share, item_css, tip) in enumerate(points):
        x = left + slot * i + (slot - bar_w) / 2
        h = 3.0 if share is None else max(plot_h * min(share, 1.0), 2.0)
        parts.append(
            f'<rect class="{item_css}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
            f' rx="1"><title>{escape(tip)}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(name)}</text>'
            )
    return _done(parts)


@dataclass
class Mark:
    """A dot on a lane timeline: its age in days, its lane, a tooltip, whether it is hollow, its id
    (written as the picture's ``ident_attr``, for tests and scripts to find it)."""

    age_days: float
    lane: str
    title: str
    hollow: bool = False
    ident: str = ""


def _age(days: float) -> str:
    if days < 1:
        return f"{days * 24:.0f} h"
    return f"{days:.0f} d"


LOG_TICKS = ((0, "now"), (1, "1 d"), (7, "1 w"), (30, "1 mo"), (90, "3 mo"), (365, "1 y"), (730, "2 y"))


def lane_timeline(
    lanes: Sequence[tuple[str, str]],
    marks: Sequence[Mark],
    *,
    width: int = 720,
    compact: bool = False,
    min_span_days: float = 400.0,
    empty: str = "nothing yet",
    label: str = "timeline",
    css: str = "lanes",
    ident_attr: str = "data-id",
) -> SafeString:
    """Dots on a log-scaled age axis (now on the right), one lane per (key, label); a lane's class is ``lane-<key>``."""
    left, right, top = 118.0, 14.0, 8.0
    lane_h = 14.0 if compact else 18.0
    plot_w = width - left - right
    height = top + lane_h * len(lanes) + 22
    span = max([min_span_days, *(m.age_days for m in marks)]) * 1.05
    row = {key: i for i, (key, _label) in enumerate(lanes)}

    def x_of(age_days: float) -> float:
        ratio = math.log1p(max(age_days, 0.0)) / math.log1p(span)
        return left + plot_w * (1 - min(ratio, 1.0))

    per_lane = []
    for key, text in lanes:
        ages = sorted(m.age_days for m in marks if m.lane == key)
        if ages:
            per_lane.append(f"{text} {len(ages)}, newest {_age(ages[0])} old, oldest {_age(ages[-1])} old")
        else:
            per_lane.append(f"{text} none")
    figures = "; ".join(per_lane) if marks else empty
    parts = [_svg(css, width, height, _named(label, figures), extra=' xmlns="http://www.w3.org/2000/svg"')]
    for i, (key, text) in enumerate(lanes):
        y = top + lane_h * i + lane_h / 2
        parts.append(
            f'<line class="lane" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
            f'<text class="label lane-{key}" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(text)}</text>'
        )
    axis_y = top + lane_h * len(lanes) + 4
    for days, text in LOG_TICKS:
        if days <= span:
            x = x_of(days)
            parts.append(
                f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}"/>'
                f'<text class="tick" x="{x:.1f}" y="{axis_y + 12:.1f}" text-anchor="middle">{text}</text>'
            )
    radius = 3.8 if compact else 4.5
    for mark in marks:
        y = top + lane_h * row[mark.lane] + lane_h / 2
        ident = f' {ident_attr}="{escape(mark.ident)}"' if mark.ident else ""
        parts.append(
            f'<circle class="lane-{mark.lane}{" hollow" if mark.hollow else ""}" cx="{x_of(mark.age_days):.1f}"'
            f' cy="{y:.1f}" r="{radius}"{ident}><title>{escape(mark.title)}</title></circle>'
        )
    if not marks:
        parts.append(
            f'<text class="tick" x="{left + plot_w / 2:.1f}" y="{top + lane_h * 2.5:.1f}" text-anchor="middle">'
            f"{escape(empty)}</text>"
        )
    return _done(parts)
