"""Re-export of ``monitoring.alerts.public``, the only entry point other apps use (kept so old imports work)."""

from __future__ import annotations

from monitoring.alerts.public import (
    EvidenceProvider,
    MetricSource,
    Thresholds,
    age_since,
    evidence,
    evidence_providers,
    hold_reason,
    last_resolved_by_hand,
    metric_sources,
    metric_thresholds,
    open_alert,
    raise_alert,
    register_evidence,
    register_metric_source,
    resolve_alert,
)

__all__ = [
    "EvidenceProvider",
    "MetricSource",
    "Thresholds",
    "age_since",
    "evidence",
    "evidence_providers",
    "hold_reason",
    "last_resolved_by_hand",
    "metric_sources",
    "metric_thresholds",
    "open_alert",
    "raise_alert",
    "register_evidence",
    "register_metric_source",
    "resolve_alert",
]
