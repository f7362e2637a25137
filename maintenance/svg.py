"""The maintenance pages' pictures, drawn by opsportal.charts: completion rate per period."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.safestring import SafeString

from opsportal import charts


def completion_css(rate: float | None) -> str:
    """Green when complete, amber when partly done, red when nothing was ticked; grey while open."""
    if rate is None:
        return "bar-none"
    return "bar-ok" if rate >= 1 else ("bar-running" if rate > 0 else "bar-failed")


def completion_chart(
    points: Sequence[tuple[str, float | None, str]], *, width: int = 720, height: int = 140, title: str = ""
) -> SafeString:
    """Columns of completion (0..1) per period, oldest left; each point is (label, rate or None, tooltip)."""
    columns = [(label, rate, completion_css(rate), tip) for label, rate, tip in points]
    return charts.columns(columns, width=width, height=height, label=title or "Completion rate", css="mt-chart")
