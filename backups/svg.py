"""Server-rendered SVG pictures for the backups console: the retention timeline and step bars.

The timeline puts every good backup of a policy on a time axis (newest on the right, age on a
log scale so the dailies do not pile up), with one lane per reason it is kept (daily, weekly,
monthly, oldest/newest) and a lane for backups the next prune removes. Hovering a mark shows
its date and reasons.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LANES = (
    ("daily", "daily", "#1f9d55"),
    ("weekly", "weekly", "#2456d6"),
    ("monthly", "monthly", "#7b3fc4"),
    ("other", "oldest / newest", "#d69e2e"),
    ("prune", "pruned next", "#b8c0cc"),
)
TICKS = ((0, "now"), (1, "1 d"), (7, "1 w"), (30, "1 mo"), (90, "3 mo"), (365, "1 y"), (730, "2 y"))


def _x(age_days: float, span: float, left: float, width: float) -> float:
    ratio = math.log1p(max(age_days, 0.0)) / math.log1p(span)
    return left + width * (1 - min(ratio, 1.0))


def retention_timeline(
    keep: Sequence[tuple[Any, list[str]]],
    delete: Sequence[Any],
    *,
    now: dt.datetime | None = None,
    width: int = 720,
    compact: bool = False,
) -> SafeString:
    """An SVG of kept (with reasons) and to-be-pruned backups; each item needs ``started_at`` and ``pk``."""
    now = now or timezone.now()
    left, right, top = 118.0, 14.0, 8.0
    lane_h = 14.0 if compact else 18.0
    plot_w = width - left - right
    height = top + lane_h * len(LANES) + 22
    ages = [(now - r.started_at).total_seconds() / 86400 for r, _ in keep] + [
        (now - r.started_at).total_seconds() / 86400 for r in delete
    ]
    span = max([400.0, *ages]) * 1.05
    parts = [
        f'<svg class="bk-retention" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label="Retention timeline">'
    ]
    for i, (_key, label, colour) in enumerate(LANES):
        y = top + lane_h * i + lane_h / 2
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e6eb" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{colour}">{label}</text>'
        )
    axis_y = top + lane_h * len(LANES) + 4
    for days, label in TICKS:
        if days > span:
            continue
        x = _x(days, span, left, plot_w)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#eef0f4"/>'
            f'<text x="{x:.1f}" y="{axis_y + 12:.1f}" text-anchor="middle" font-size="10" fill="#6b7280">{label}</text>'
        )

    def mark(run: Any, lane: int, colour: str, hollow: bool, title: str) -> str:
        age = (now - run.started_at).total_seconds() / 86400
        x = _x(age, span, left, plot_w)
        y = top + lane_h * lane + lane_h / 2
        fill = "#fff" if hollow else colour
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{4.5 if not compact else 3.8}" fill="{fill}" stroke="{colour}" '
            f'stroke-width="1.5" data-run="{run.pk}"><title>{escape(title)}</title></circle>'
        )

    lane_index = {key: i for i, (key, _l, _c) in enumerate(LANES)}
    for run, reasons in keep:
        when = timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M")
        title = f"#{run.pk} {when}: kept ({', '.join(reasons)})"
        for reason in reasons:
            key = reason if reason in ("daily", "weekly", "monthly") else "other"
            _k, _label, colour = LANES[lane_index[key]]
            parts.append(mark(run, lane_index[key], colour, False, title))
    for run in delete:
        when = timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M")
        parts.append(mark(run, lane_index["prune"], "#8896ab", True, f"#{run.pk} {when}: pruned by the next prune"))
    if not keep and not delete:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + lane_h * 2.5:.1f}" text-anchor="middle" font-size="12" '
            f'fill="#6b7280">no good backups yet</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def step_bars(steps: Sequence[dict[str, Any]], *, width: int = 420) -> SafeString:
    """Horizontal bars of each step's duration (green ok, red failed, amber running)."""
    timed = [s for s in steps if s.get("seconds") is not None or s.get("ok") is None]
    if not timed:
        return mark_safe("")
    longest = max([float(s.get("seconds") or 0) for s in timed] + [0.001])
    row, label_w = 18, 90
    height = row * len(timed) + 4
    parts = [
        f'<svg class="stepbars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Step durations">'
    ]
    for i, step in enumerate(timed):
        seconds = float(step.get("seconds") or 0)
        colour = "#d69e2e" if step.get("ok") is None else ("#1f9d55" if step.get("ok") else "#d64545")
        w = max(2.0, (width - 70 - label_w) * seconds / longest)
        y = 2 + i * row
        name = escape(str(step.get("name", ""))[:14])
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row - 8}" font-size="11" text-anchor="end" fill="#6b7280">{name}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 5}" rx="2" fill="{colour}">'
            f"<title>{escape(step.get('label', step.get('name', '')))}</title></rect>"
            f'<text x="{label_w + w + 5:.1f}" y="{y + row - 8}" font-size="11" fill="#1d2330">{seconds:.2f} s</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - labels are escaped
