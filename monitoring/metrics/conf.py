"""Settings of metrics, collectors and ingest, declared once (read as ``conf.INGEST_MAX_AGE_DAYS.get()``; see opsportal.conf)."""

from __future__ import annotations

from opsportal import conf

METRICS_DATABASES = conf.List(
    "METRICS_DATABASES",
    ["default"],
    'Databases whose connections count against max_connections: Django aliases or "env:VAR" (a URL in VAR).',
)
METRICS_COLLECT_SECONDS = conf.Int(
    "METRICS_COLLECT_SECONDS", 60, "How often each worker host collects memory, disk and connection figures.", minimum=1
)
METRIC_SAMPLE_RETENTION_DAYS = conf.Int("METRIC_SAMPLE_RETENTION_DAYS", 14, "Days metric samples are kept.", minimum=1)
PROBE_METRIC_MIN_CHECKS = conf.Int(
    "PROBE_METRIC_MIN_CHECKS",
    10,
    "Probe-derived metrics give no value until a window holds this many checks.",
    minimum=1,
)
# The batch limit of ingest is the one of every JSON endpoint: API_MAX_BATCH (opsportal/settings.py).
INGEST_MAX_AGE_DAYS = conf.Int(
    "INGEST_MAX_AGE_DAYS", 7, 'How old an ingested sample\'s "at" may be, in days.', minimum=1
)
