"""Server-rendered SVG for the maintenance pages: completion rate per period, as bars with a 100 % line."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def completion_chart(
    points: Sequence[tuple[str, float | None, str]], *, width: int = 720, height: int = 140, title: str = ""
) -> SafeString:
    """Bars of completion (0..1) per period, oldest left; each point is (label, rate or None, tooltip).

    Green when complete, amber when partly done, red when nothing was ticked; grey while open.
    """
    left, right, top, bottom = 34.0, 8.0, 8.0, 22.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(min(slot * 0.7, 28.0), 2.0)
    parts = [
        f'<svg class="mt-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title or "Completion rate")}">'
    ]
    for frac, label in ((0.0, "0%"), (0.5, "50%"), (1.0, "100%")):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e6eb"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="#6b7280">{label}</text>'
        )
    every = max(1, n // 8)
    for i, (label, rate, tip) in enumerate(points):
        x = left + slot * i + (slot - bar_w) / 2
        if rate is None:
            colour, h = "#cbd2dc", 3.0
        else:
            colour = "#1f9d55" if rate >= 1 else ("#d69e2e" if rate > 0 else "#d64545")
            h = max(plot_h * rate, 2.0)
        y = top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}" rx="1">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" font-size="9" text-anchor="middle" fill="#6b7280">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
