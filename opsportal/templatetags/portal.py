"""Template filters for the display formatters of opsportal.formatting: ``{% load portal %}``."""

from __future__ import annotations

from django import template

from opsportal import formatting

register = template.Library()
register.filter("percent", formatting.percent)
register.filter("ms", formatting.ms)
register.filter("bytes", formatting.human_bytes)
register.filter("duration", formatting.duration)
register.filter("age_hours", formatting.age_hours)
