"""The "Backup Age" metric (hours since each policy's last good backup) for monitoring and /metrics."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitoring.alerts.public import Thresholds, age_since, metric_thresholds
from opsportal.formatting import age_hours

from .choices import RunState

BACKUP_AGE_METRIC = "backup_age"  # its row holds the runbook's target (< 24 h) and alert line (> 48 h)
BADGES = {"ok": "good", "missing": "warning", "alerting": "critical"}


def age_limits() -> Thresholds | None:
    """The Backup Age metric's thresholds as an admin last set them (one query: read once per page)."""
    return metric_thresholds(BACKUP_AGE_METRIC)


def age_badge(hours: float | None, limits: Thresholds | None) -> tuple[str, str]:
    """(css status, label) for a backup age, coloured by the Backup Age metric's thresholds."""
    if hours is None:
        return "unknown", "no good backup"
    label = age_hours(hours)
    if limits is None:
        return "unknown", label
    return BADGES[limits.grade(hours)], label


def backup_age_hours() -> dict[str, float | None]:
    """{"policy:<slug>": hours since the last good backup's snapshot, or since the policy was created
    when it never had one}: a policy that never succeeds reaches the runbook's 48 h like any other."""
    from .models import Policy

    now = timezone.now()
    rows = (
        Policy.objects.filter(enabled=True)
        .annotate(last_good=Max("runs__started_at", filter=_good()))
        .values_list("slug", "last_good", "created_at")
    )
    return {f"policy:{slug}": age_since(last, created, now) for slug, last, created in rows}


def _good() -> object:
    from django.db.models import Q

    return Q(runs__state=RunState.GOOD)


class BackupCollector(Collector):
    """opsportal_backup_age_hours per policy on /metrics (counted from creation while a policy has no good backup)."""

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
