"""SLOs from the runbook's targets: error budgets and multiwindow, multi-burn-rate alerts.

The way the Google SRE Workbook's "Alerting on SLOs" chapter does it (and Sloth and Pyrra
generate for Prometheus): a metric with burn-rate rules (the Uptime metric: target 99.9% over
30 days, so 0.1% of checks may fail) is judged per service by how fast it spends that budget.
``burn rate = error ratio over a window / budget``. A rule fires when the burn rate is at least
its factor over both its long and its short window; all firing rules of one severity make one
alert per service, ``slo:<metric>:service:<slug>:page`` (critical) or ``...:ticket`` (warning).
There is no "for" duration: the long window is the significance, the short window the reset.

Pages are inhibited by the service's own open down alert (``holds.py``): one outage, one page.

``budgets(services, now)`` gives the numbers the service pages show: the budget of the SLO
window, how much is spent, the burn rate now (over one hour) and when it runs out at that rate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDay

from monitoring.alerts.choices import AlertState, Severity
from monitoring.alerts.holds import INHIBIT_BY_DOWN
from monitoring.alerts.models import Alert
from monitoring.alerts.public import last_resolved_by_hand, raise_alert, refresh_alerts, resolve_alert
from monitoring.metrics import conf
from monitoring.metrics.models import BurnRateRule, Metric, MetricSourceKind, minutes_label
from monitoring.metrics.windows import Counts, SharedCounts, counts_over
from monitoring.services.models import CheckRollup, Resolution, Service

NOW_WINDOW = dt.timedelta(hours=1)  # "burn rate now"


def minimum_checks() -> int:
    return max(1, conf.PROBE_METRIC_MIN_CHECKS.get())


def slo_metric() -> Metric | None:
    """The metric whose target is the availability SLO: the enabled probe metric with burn-rate rules."""
    return (
        Metric.objects.filter(enabled=True, source=MetricSourceKind.PROBES, burn_rules__isnull=False)
        .order_by("position")
        .distinct()
        .first()
    )


def slo_key(metric: Metric, service: Service, kind: str) -> str:
    return f"slo:{metric.key}:service:{service.slug}:{kind}"


@dataclass
class BurnReport:
    services: int = 0
    raised: int = 0
    resolved: int = 0
    firing: dict[str, int] = field(default_factory=dict)


def burn(counts: Counts | None, budget: float) -> float | None:
    ratio = counts.ratio if counts is not None else None
    return None if ratio is None else ratio / budget


def evaluate_burn_rates(now: dt.datetime, shared: SharedCounts | None = None) -> BurnReport:
    """Raise, refresh or resolve the page and ticket of every service, for every metric with rules."""
    report = BurnReport()
    rules_by_metric: dict[int, list[BurnRateRule]] = defaultdict(list)
    for rule in BurnRateRule.objects.select_related("metric").filter(
        metric__enabled=True, metric__source=MetricSourceKind.PROBES
    ):
        rules_by_metric[rule.metric_id].append(rule)
    if not rules_by_metric:
        return report
    windows = {
        dt.timedelta(minutes=m)
        for rules in rules_by_metric.values()
        for r in rules
        for m in (r.long_window_minutes, r.short_window_minutes)
    }
    counts = shared.over(windows, now) if shared is not None else counts_over(windows, now)
    # Names are enough here; raising an alert reads the rest of its service's row when it needs it.
    services = {s.pk: s for s in Service.objects.filter(enabled=True).only("name", "slug", "enabled")}
    open_keys = set(
        Alert.objects.filter(dedup_key__startswith="slo:")
        .exclude(state=AlertState.RESOLVED)
        .values_list("dedup_key", flat=True)
    )
    seen = {sid for per in counts.values() for sid in per}
    live: list[tuple[str, str, dict[str, Any]]] = []
    report.services = len(seen & set(services))
    firing: dict[str, int] = defaultdict(int)
    minimum = minimum_checks()
    # Once per rule, not per rule and service.
    labels = {id(r): _labels(r) for rules in rules_by_metric.values() for r in rules}
    for rules in rules_by_metric.values():
        metric = rules[0].metric
        budget = metric.error_budget
        if budget is None:
            continue
        for sid in sorted(seen & set(services)):
            service = services[sid]
            for severity in (Severity.CRITICAL, Severity.WARNING):
                mine = [r for r in rules if r.severity == severity]
                if not mine:
                    continue
                kind = mine[0].kind
                key = slo_key(metric, service, kind)
                judged = [_judge(r, counts, sid, budget, now, minimum, labels[id(r)]) for r in mine]
                hot = [j for j in judged if j["firing"]]
                if hot:
                    firing[kind] += 1
                    summary, details = _alert_text(metric, service, kind, hot, judged, budget)
                    if key in open_keys:
                        live.append((key, summary, details))  # still burning: refreshed in one statement
                        continue
                    _raise(key, metric, service, severity, summary, details, last_resolved_by_hand(key))
                    report.raised += 1
                elif key in open_keys:
                    worst = max(judged, key=lambda j: j["long_burn"] or 0)
                    if resolve_alert(key, note=f"burn rate back under every {kind} rule ({_text(worst)})"):
                        report.resolved += 1
    refresh_alerts(live, now)
    report.firing = dict(firing)
    return report


def _judge(
    rule: BurnRateRule,
    counts: dict[dt.timedelta, dict[int, Counts]],
    sid: int,
    budget: float,
    now: dt.datetime,
    minimum: int,
    labels: tuple[str, str, str],
) -> dict:
    """One rule for one service. Pages judge at once; a ticket (a slow burn) waits, like the runbook's
    Uptime rule, until the service has been watched for the metric's minimum share of its long window:
    on a fresh install a short outage is not a slow burn.

    The long window is the rule's significance: the share of the budget spent in it (14.4x over 1 h
    is 2% of a 30-day budget, 6x over 6 h 5%). Time before the service was watched spends none, as
    on the budget panel (spent = failed share x watched time), so the long burn is the error ratio
    of the watched part times the share watched. Without that, on a fresh install (or a new
    service) the long window is no longer than the watched minutes: one failed check of 41 read as
    24x over 6 h and paged, with every service up; with a full window the same check is 1.4x.
    The short window (the reset) is the plain ratio of its checks."""
    long_w, short_w = dt.timedelta(minutes=rule.long_window_minutes), dt.timedelta(minutes=rule.short_window_minutes)
    long_counts = counts[long_w].get(sid)
    short_burn = burn(counts[short_w].get(sid), budget)
    coverage = long_counts.coverage(long_w, now) if long_counts else 0.0
    long_burn = burn(long_counts, budget)
    if long_counts is None or long_counts.checks < minimum:
        long_burn = None  # a handful of checks says little: one failure in the first five is 200x
    elif long_burn is not None:
        long_burn *= coverage
    watched = rule.severity == Severity.CRITICAL or 100 * coverage >= rule.metric.min_coverage_percent
    label, long_label, short_label = labels
    return {
        "rule": label,
        "factor": rule.factor,
        "long": long_label,
        "short": short_label,
        "long_burn": None if long_burn is None else round(long_burn, 2),
        "short_burn": None if short_burn is None else round(short_burn, 2),
        "coverage": round(coverage, 4),
        "firing": watched
        and long_burn is not None
        and short_burn is not None
        and min(long_burn, short_burn) >= rule.factor,
    }


def _labels(rule: BurnRateRule) -> tuple[str, str, str]:
    """The rule's label and its two windows' labels, as every judgement of it writes them."""
    return rule.label, minutes_label(rule.long_window_minutes), minutes_label(rule.short_window_minutes)


def _text(j: dict) -> str:
    def x(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}x"

    # A long window not yet watched in full says so: its burn is the budget spent in it (see _judge),
    # which the service page's "burn rate now" (the watched minutes' rate) is not.
    watched = f" ({j['coverage']:.0%} of it watched)" if j["long_burn"] is not None and j["coverage"] < 0.995 else ""
    return (
        f"{x(j['long_burn'])} over {j['long']}{watched}, {x(j['short_burn'])} over {j['short']}; "
        f"{j['factor']:g}x needed on both"
    )


def _alert_text(
    metric: Metric, service: Service, kind: str, hot: list[dict], judged: list[dict], budget: float
) -> tuple[str, dict[str, Any]]:
    first = hot[0]
    what = "burning fast" if kind == "page" else "burning slowly"
    summary = f"{service.name}: error budget of {metric.name} {metric.target_label} {what}: {_text(first)}"
    details: dict[str, Any] = {
        "metric": metric.key,
        "slo_target": metric.target,
        "budget_ratio": budget,
        "value_text": f"{first['long_burn']:.1f}x over {first['long']}",
        "breaching": True,
        "rules": judged,
    }
    if kind == "page":
        details["inhibit"] = INHIBIT_BY_DOWN
    return summary, details


def _raise(
    key: str,
    metric: Metric,
    service: Service,
    severity: str,
    summary: str,
    details: dict[str, Any],
    reopens: Alert | None,
) -> None:
    raise_alert(
        key,
        summary=summary,
        source="metrics",
        severity=severity,
        service=service,
        runbook=metric.runbook or "Service Is Down",
        details=details,
        reopens=reopens,
    )


# The error budget on screen ---------------------------------------------------------------


@dataclass
class Budget:
    """One service's error budget over the SLO window, as the service pages show it."""

    target: float
    window: dt.timedelta
    budget_minutes: float  # bad minutes the SLO allows over the whole window
    spent_minutes: float
    coverage: float  # share of the window the service has been watched
    burn_now: float | None
    checks: int

    @property
    def spent_percent(self) -> float:
        return 100.0 * self.spent_minutes / self.budget_minutes if self.budget_minutes else 0.0

    @property
    def remaining_percent(self) -> float:
        return 100.0 - self.spent_percent

    @property
    def exhausted_in(self) -> dt.timedelta | None:
        """At the burn rate now, how long until the budget is gone (None: not burning; zero: gone)."""
        remaining = self.budget_minutes - self.spent_minutes
        if remaining <= 0:
            return dt.timedelta(0)
        if not self.burn_now:
            return None
        per_minute = self.burn_now * self.budget_minutes / (self.window.total_seconds() / 60)
        return dt.timedelta(minutes=remaining / per_minute)


def budgets(services: list[Service], now: dt.datetime, metric: Metric | None = None) -> dict[int, Budget]:
    """{service id: Budget} of the availability SLO, in two or three queries for any number of services."""
    metric = metric or slo_metric()
    if metric is None or metric.error_budget is None:
        return {}
    window = dt.timedelta(minutes=metric.window_minutes)
    counts = counts_over([window, NOW_WINDOW], now, [s.pk for s in services])
    out: dict[int, Budget] = {}
    budget_minutes = metric.error_budget * window.total_seconds() / 60
    for service in services:
        c = counts[window].get(service.pk)
        if c is None or not c.checks:
            continue
        coverage = c.coverage(window, now)
        spent = (c.ratio or 0.0) * coverage * window.total_seconds() / 60
        now_burn = burn(counts[NOW_WINDOW].get(service.pk), metric.error_budget)
        out[service.pk] = Budget(
            target=metric.target,
            window=window,
            budget_minutes=budget_minutes,
            spent_minutes=spent,
            coverage=coverage,
            burn_now=now_burn,
            checks=c.checks,
        )
    return out


def burn_down(service: Service, now: dt.datetime, metric: Metric, budget: Budget) -> list[tuple[dt.datetime, float]]:
    """(day, % of the budget left at the end of that day) over the SLO window, from the hour rollups.

    Each failed check spends the same share of the watched time as in ``Budget`` (watched minutes
    / checks); today's point is the panel's "left" figure.
    """
    window = dt.timedelta(minutes=metric.window_minutes)
    if metric.error_budget is None or not budget.checks:
        return []
    minutes_per_check = budget.coverage * window.total_seconds() / 60 / budget.checks
    since = now - window
    rows = (
        CheckRollup.objects.filter(service=service, resolution=Resolution.HOUR, start__gte=since, start__lt=now)
        .annotate(day=TruncDay("start", tzinfo=dt.UTC))
        .order_by()
        .values("day")
        .annotate(n=Sum("count"), f=Sum("failures"))
        .order_by("day")
    )
    left, points = budget.budget_minutes, []
    for row in rows:
        left -= (row["f"] or 0) * minutes_per_check
        points.append((row["day"], 100.0 * left / budget.budget_minutes))
    # The line ends where the panel's figure is (it also counts the minutes not yet in an hour row).
    today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if points and points[-1][0] == today:
        points.pop()
    points.append((today, budget.remaining_percent))
    return points
