"""The fallback chain drawn as a strip of providers (trend lines use ``opsportal.charts.sparkline``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

STATE_COLOURS = {
    "up": "#1f9d55",
    "limited": "#d69e2e",
    "failing": "#e07b39",
    "out": "#d64545",
    "unknown": "#b8c0cc",
    "disabled": "#8896ab",
}


def chain_strip(providers: Sequence[dict], *, box: int = 132, height: int = 54, gap: int = 26) -> SafeString:
    """Providers in order, left to right, coloured by state, arrows between them; the active one
    has a thick outline and an "active" tab."""
    if not providers:
        return mark_safe('<p class="muted">No model providers configured.</p>')
    width = len(providers) * box + (len(providers) - 1) * gap + 4
    total = height + 16
    label = "Fallback chain: " + ", ".join(f"{p['name']} {p['state']}" for p in providers)
    parts = [
        f'<svg class="chain-strip" width="{width}" height="{total}" viewBox="0 0 {width} {total}" role="img" '
        f'aria-label="{escape(label)}" data-testid="chain-strip">'
    ]
    for i, p in enumerate(providers):
        x = 2 + i * (box + gap)
        colour = STATE_COLOURS.get(p["state"], STATE_COLOURS["unknown"])
        stroke = ' stroke="#151b2b" stroke-width="3"' if p.get("active") else ""
        parts.append(
            f'<g data-provider="{escape(p["name"])}" data-state="{escape(p["state"])}"'
            f"{' data-active=' + chr(34) + 'true' + chr(34) if p.get('active') else ''}>"
            f"<title>{escape(p['name'])}: {escape(p['state'])}{' - ' + escape(p['reason']) if p.get('reason') else ''}"
            f"</title>"
            f'<rect x="{x}" y="14" width="{box}" height="{height}" rx="7" fill="{colour}"{stroke}/>'
            f'<text x="{x + box / 2}" y="{14 + height / 2 - 3}" text-anchor="middle" fill="#fff" '
            f'font-size="13" font-weight="600">{i + 1}. {escape((p["label"] or p["name"])[: box // 9])}</text>'
            f'<text x="{x + box / 2}" y="{14 + height / 2 + 14}" text-anchor="middle" fill="#fff" '
            f'font-size="11">{escape(p["state"])} · {p["share_1h_percent"]:g}% 1 h</text>'
        )
        if p.get("active"):
            parts.append(
                f'<rect x="{x + box / 2 - 26}" y="0" width="52" height="15" rx="3" fill="#151b2b"/>'
                f'<text x="{x + box / 2}" y="11" text-anchor="middle" fill="#fff" font-size="10">ACTIVE</text>'
            )
        parts.append("</g>")
        if i < len(providers) - 1:
            ax = x + box + 4
            ay = 14 + height / 2
            parts.append(
                f'<path d="M{ax},{ay} L{ax + gap - 10},{ay} M{ax + gap - 15},{ay - 5} L{ax + gap - 9},{ay} '
                f'L{ax + gap - 15},{ay + 5}" stroke="#6b7280" stroke-width="2" fill="none"/>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped names only
