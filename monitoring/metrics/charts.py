"""Server-rendered SVG sparklines for metric series, and the downsampling that feeds them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.metrics.models import MetricSample

COLOURS = {"ok": "#1f9d55", "missing": "#d69e2e", "alerting": "#d64545", "nodata": "#8896ab"}


def series_points(
    series_ids: Iterable[int], since: dt.datetime, until: dt.datetime, buckets: int = 48, worst: str = "max"
) -> dict[int, list[float | None]]:
    """Per series, ``buckets`` values over [since, until): the worst sample of each bucket, None when empty."""
    ids = list(series_ids)
    if not ids:
        return {}
    step = (until - since) / buckets
    out: dict[int, list[float | None]] = defaultdict(lambda: [None] * buckets)
    rows = MetricSample.objects.filter(series_id__in=ids, at__gte=since, at__lt=until).values_list(
        "series_id", "at", "value"
    )
    pick = max if worst == "max" else min
    for sid, at, value in rows.iterator(chunk_size=5000):
        index = min(buckets - 1, int((at - since) / step))
        current = out[sid][index]
        out[sid][index] = value if current is None else pick(current, value)
    return {sid: out[sid] for sid in ids}


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 140,
    height: int = 30,
    threshold: float | None = None,
    grade: str = "ok",
    label: str = "",
) -> SafeString:
    """A line of the values (gaps where None), a dashed line at the alert threshold, a dot at the end."""
    aria = escape(label or "trend")
    points = [v for v in values if v is not None]
    if not points:
        return mark_safe(  # noqa: S308 - numbers and an escaped label only
            f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{aria}: no data"><line x1="0" y1="{height / 2}" x2="{width}" y2="{height / 2}" '
            'stroke="#c9cfd8" stroke-dasharray="2 3"/></svg>'
        )
    scale = points + ([threshold] if threshold is not None else [])
    low, high = min(scale), max(scale)
    if high == low:
        high, low = high + 1, low - 1
    pad = 3

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(1, len(values) - 1))

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - (v - low) / (high - low))

    path, pen_down, last = [], False, None
    for i, v in enumerate(values):
        if v is None:
            pen_down = False
            continue
        path.append(f"{'L' if pen_down else 'M'}{x(i):.1f},{y(v):.1f}")
        pen_down, last = True, (x(i), y(v))
    colour = COLOURS.get(grade, COLOURS["ok"])
    parts = [
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{aria}">'
    ]
    if threshold is not None:
        ty = y(threshold)
        parts.append(
            f'<line x1="0" y1="{ty:.1f}" x2="{width}" y2="{ty:.1f}" stroke="#d64545" stroke-width="1" '
            'stroke-dasharray="3 3" opacity=".6"/>'
        )
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
    if last is not None:
        parts.append(f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.2" fill="{colour}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from numbers and an escaped label
