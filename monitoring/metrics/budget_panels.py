"""The error budget on screen: a panel on the service page (budget, spent, burn rate now, when it
runs out at that rate, an SVG burn-down) and a budget column on the services list.

Registered into ``services.extensions`` at start-up, so the services pages show them without
importing metrics. Both read ``slo.budgets`` (a fixed number of queries for any number of services).
"""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from monitoring.metrics.slo import Budget, budgets, burn_down, slo_metric
from monitoring.services import extensions


def duration_text(value: dt.timedelta | None) -> str:
    if value is None:
        return "not burning"
    minutes = value.total_seconds() / 60
    if minutes <= 0:
        return "spent"
    if minutes < 90:
        return f"in {minutes:.0f} min"
    if minutes < 48 * 60:
        return f"in {minutes / 60:.1f} h"
    return f"in {minutes / 1440:.0f} days"


def burn_down_svg(
    points: list[tuple[dt.datetime, float]], days: int, *, width: int = 420, height: int = 120
) -> SafeString:
    """% of the budget left at the end of each day over the SLO window; the zero line dashed."""
    if not points:
        return mark_safe('<p class="muted">No day of history yet.</p>')
    pad = 24
    lowest = min(0.0, min(p for _d, p in points))
    span = 100.0 - lowest or 1.0
    start = points[-1][0] - dt.timedelta(days=days - 1)

    def x(day: dt.datetime) -> float:
        return pad + (width - 2 * pad) * max(0.0, (day - start).total_seconds()) / (days * 86400)

    def y(left: float) -> float:
        return 6 + (height - 20) * (100.0 - left) / span

    path = " ".join(f"{'M' if i == 0 else 'L'}{x(d):.1f},{y(p):.1f}" for i, (d, p) in enumerate(points))
    last_day, last = points[-1]
    grade = "ok" if last > 25 else "missing" if last > 0 else "alerting"
    days_text = "; ".join(f"{d:%b %d} {p:.0f}%" for d, p in points)
    zero = y(0.0)
    return format_html(
        '<svg class="burn-down" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">'
        "<title>{label}</title>"
        '<line class="grid" x1="{p}" y1="{top}" x2="{right}" y2="{top}"/>'
        '<line class="zero" x1="{p}" y1="{zero}" x2="{right}" y2="{zero}"/>'
        '<path d="{path}" class="line st-{grade}"/>'
        '<circle class="st-{grade}" cx="{cx}" cy="{cy}" r="3"/>'
        '<text class="tick" x="2" y="{top_t}">100%</text><text class="tick" x="2" y="{zero_t}">0</text>'
        "</svg>",
        w=width,
        h=height,
        p=pad,
        right=width - pad,
        top=f"{y(100.0):.1f}",
        top_t=f"{y(100.0) + 4:.1f}",
        zero=f"{zero:.1f}",
        zero_t=f"{zero + 4:.1f}",
        path=path,
        grade=grade,
        cx=f"{x(last_day):.1f}",
        cy=f"{y(last):.1f}",
        label=f"Error budget left per day over the last {days} days: {last:.0f}% now. By day: {days_text}",
    )


def budget_panel(service: object, now: dt.datetime) -> SafeString | None:
    metric = slo_metric()
    if metric is None:
        return None
    budget = budgets([service], now, metric).get(service.pk)  # type: ignore[attr-defined]
    days = max(1, metric.window_minutes // 1440)
    return mark_safe(  # noqa: S308 - rendered by the template engine, which escapes
        render_to_string(
            "monitoring/_budget_panel.html",
            {
                "metric": metric,
                "budget": budget,
                "eta": duration_text(budget.exhausted_in) if budget else "",
                "chart": burn_down_svg(burn_down(service, now, metric, budget), days) if budget else "",  # type: ignore[arg-type]
                "rules": list(metric.burn_rules.all()),
            },
        )
    )


def budget_cell(budget: Budget) -> SafeString:
    left = budget.remaining_percent
    grade = "ok" if left > 25 else "missing" if left > 0 else "alerting"
    burn = "" if budget.burn_now is None else f" · {budget.burn_now:.1f}x now"
    return format_html(
        '<span class="budget st-{}" title="error budget of the {} SLO left; {}% of the window watched">{}% left</span>'
        '<small class="muted">{}</small>',
        grade,
        f"{budget.target:g}%",
        f"{100 * budget.coverage:.0f}",
        f"{left:.0f}",
        burn,
    )


def budget_cells(services: list, now: dt.datetime) -> dict[int, SafeString]:
    return {sid: budget_cell(b) for sid, b in budgets(services, now).items()}


def register() -> None:
    extensions.register_panel("error budget", budget_panel)
    extensions.register_column("error budget", "Error budget", budget_cells)
