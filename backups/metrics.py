"""The "Backup Age" metric (hours since each policy's last good backup) for monitoring and /metrics."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .choices import RunState

WARN_HOURS, ALERT_HOURS = 24, 48  # the runbook's Backup Age: target < 24 h, alert > 48 h


def age_badge(hours: float | None) -> tuple[str, str]:
    """(css status, label) for a backup age."""
    if hours is None:
        return "unknown", "no good backup"
    if hours >= 1:
        label = f"{hours:.0f} h old"
    else:
        label = f"{hours * 60:.0f} min old" if hours * 60 >= 1 else "just now"
    if hours > ALERT_HOURS:
        return "critical", label
    if hours > WARN_HOURS:
        return "warning", label
    return "good", label


def backup_age_hours() -> dict[str, float | None]:
    """{"policy:<slug>": hours since the last good backup's snapshot, or None if it has none}."""
    from .models import Policy

    now = timezone.now()
    rows = (
        Policy.objects.filter(enabled=True)
        .annotate(last_good=Max("runs__started_at", filter=_good()))
        .values_list("slug", "last_good")
    )
    return {
        f"policy:{slug}": None if last is None else round((now - last).total_seconds() / 3600, 3) for slug, last in rows
    }


def _good() -> object:
    from django.db.models import Q

    return Q(runs__state=RunState.GOOD)


class BackupCollector(Collector):
    """opsportal_backup_age_hours per policy on /metrics (policies without a good backup are left out)."""

    def describe(self) -> list[object]:
        return []

    def collect(self) -> Iterator[object]:
        from django.db import DatabaseError

        gauge = GaugeMetricFamily(
            "opsportal_backup_age_hours", "Hours since the last good (verified) backup", labels=["policy"]
        )
        try:
            ages = backup_age_hours()
        except DatabaseError:
            return
        for label, hours in ages.items():
            if hours is not None:
                gauge.add_metric([label.split(":", 1)[1]], hours)
        yield gauge
