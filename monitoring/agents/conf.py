"""Settings of the agents part, declared once (read as ``conf.LOG_RETENTION_DAYS.get()``; see opsportal.conf)."""

from __future__ import annotations

from opsportal import conf

AGENT_INGEST_MAX_BATCH = conf.Int(
    "AGENT_INGEST_MAX_BATCH", 1000, "Agent runs accepted in one POST /api/v1/ingest/agent-runs batch.", minimum=1
)
AGENT_QA_MIN_RUNS = conf.Int(
    "AGENT_QA_MIN_RUNS",
    10,
    "The QA rejection rate has no value until the window holds this many reviewed runs.",
    minimum=1,
)
AGENT_RUN_RETENTION_DAYS = conf.Int(
    "AGENT_RUN_RETENTION_DAYS", 30, "Days agent runs and model calls are kept (hourly rollups: 400).", minimum=1
)
LOG_INGEST_MAX_BATCH = conf.Int(
    "LOG_INGEST_MAX_BATCH", 5000, "Log lines accepted in one batch (native or OTLP); more is a 413.", minimum=1
)
LOG_MAX_MESSAGE_BYTES = conf.Int(
    "LOG_MAX_MESSAGE_BYTES", 16384, "Largest log message in bytes; a longer one is a 413.", minimum=1
)
LOG_RETENTION_DAYS = conf.Int("LOG_RETENTION_DAYS", 7, "Days log lines are kept.", minimum=1)
LOG_MAX_LINES_PER_SERVICE = conf.Int(
    "LOG_MAX_LINES_PER_SERVICE", 100_000, "Log lines kept per service (the newest).", minimum=1
)
LOG_METRIC_MIN_LINES = conf.Int(
    "LOG_METRIC_MIN_LINES",
    20,
    "The error rate from logs has no value until the window holds this many lines.",
    minimum=1,
)
OTLP_MAX_BYTES = conf.Int(
    "OTLP_MAX_BYTES",
    5 * 1024 * 1024,
    "Largest OTLP request body in bytes, compressed or not; more is a 413.",
    minimum=1,
)
OTLP_MAX_SPANS = conf.Int("OTLP_MAX_SPANS", 5000, "Spans accepted in one POST /v1/traces; more is a 413.", minimum=1)
