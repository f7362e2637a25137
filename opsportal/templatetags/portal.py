"""``{% load portal %}``: filters for the display formatters (opsportal.formatting) and ``{% ratio_bar %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from opsportal import charts, formatting

register = template.Library()
register.filter("percent", formatting.percent)
register.filter("ms", formatting.ms)
register.filter("bytes", formatting.human_bytes)
register.filter("duration", formatting.duration)
register.filter("age_hours", formatting.age_hours)
register.filter("instant", formatting.instant)
register.filter("ago", formatting.ago)


@register.simple_tag
def ratio_bar(value: Any, css: str = "bar-ok", width: int = 160, height: int = 12, label: str = "") -> SafeString:
    """``{% ratio_bar report.table_hit_rate css="bar-ok" label="table hit rate" %}``: opsportal.charts.ratio_bar."""
    return charts.ratio_bar(
        None if value in (None, "") else float(value), css=css, width=width, height=height, label=label
    )
