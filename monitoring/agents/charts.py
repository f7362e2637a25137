"""The fallback chain drawn as a strip of providers (trend lines use ``opsportal.charts.sparkline``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

STATES = ("up", "limited", "failing", "out", "unknown", "disabled")


# A box's title is shrunk to fit rather than cut; past this length it ends in an ellipsis (the
# full name is in the box's tooltip and in the table beside the strip).
TITLE_CHARS = 22


def _box_title(position: int, name: str) -> str:
    title = f"{position}. {name}"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip(" ,") + "\u2026"


def _fitting_size(title: str, box: int) -> int:
    """The font size (px, 9 to 13) at which ``title`` fits a ``box`` wide box: a bold sans glyph
    is about 0.62 em wide on average."""
    return max(9, min(13, int((box - 14) / (0.62 * max(len(title), 1)))))


def chain_strip(providers: Sequence[dict], *, box: int = 132, height: int = 54, gap: int = 26) -> SafeString:
    """Providers in order, left to right, coloured by state (``pv-<state>`` classes of portal.css, the
    state written in each box too), arrows between them; the active one has a thick outline and an
    "active" tab."""
    if not providers:
        return mark_safe('<p class="muted">No model providers configured.</p>')
    width = len(providers) * box + (len(providers) - 1) * gap + 4
    total = height + 16
    label = "Fallback chain: " + ", ".join(
        f"{i + 1}. {p['name']} {p['state']}{' (active)' if p.get('active') else ''}, {p['share_1h_percent']:g}% of calls in 1 h"
        for i, p in enumerate(providers)
    )
    parts = [
        f'<svg class="chain-strip" width="{width}" height="{total}" viewBox="0 0 {width} {total}" role="img" '
        f'aria-label="{escape(label)}" data-testid="chain-strip">'
    ]
    for i, p in enumerate(providers):
        x = 2 + i * (box + gap)
        state = p["state"] if p["state"] in STATES else "unknown"
        title = _box_title(i + 1, p["label"] or p["name"])
        parts.append(
            f'<g class="pv-{state}{" active" if p.get("active") else ""}" data-provider="{escape(p["name"])}" data-state="{escape(p["state"])}"'
            f"{' data-active=' + chr(34) + 'true' + chr(34) if p.get('active') else ''}>"
            f"<title>{escape(p['name'])}: {escape(p['state'])}{' - ' + escape(p['reason']) if p.get('reason') else ''}"
            f"</title>"
            f'<rect class="box" x="{x}" y="14" width="{box}" height="{height}" rx="7"/>'
            f'<text x="{x + box / 2}" y="{14 + height / 2 - 3}" text-anchor="middle" '
            f'font-size="{_fitting_size(title, box)}" font-weight="600">{escape(title)}</text>'
            f'<text x="{x + box / 2}" y="{14 + height / 2 + 14}" text-anchor="middle" '
            f'font-size="11">{escape(p["state"])} · {p["share_1h_percent"]:g}% 1 h</text>'
        )
        if p.get("active"):
            parts.append(
                f'<rect class="tab" x="{x + box / 2 - 26}" y="0" width="52" height="15" rx="3"/>'
                f'<text class="tab" x="{x + box / 2}" y="11" text-anchor="middle" font-size="10">ACTIVE</text>'
            )
        parts.append("</g>")
        if i < len(providers) - 1:
            ax = x + box + 4
            ay = 14 + height / 2
            parts.append(
                f'<path d="M{ax},{ay} L{ax + gap - 10},{ay} M{ax + gap - 15},{ay - 5} L{ax + gap - 9},{ay} '
                f'L{ax + gap - 15},{ay + 5}" class="arrow"/>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped names only
