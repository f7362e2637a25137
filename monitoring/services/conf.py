"""Settings of services and probes, declared once (read as ``conf.PROBE_CONCURRENCY.get()``; see opsportal.conf)."""

from __future__ import annotations

from opsportal import conf

PROBE_CONCURRENCY = conf.Int("PROBE_CONCURRENCY", 200, "Probes in flight at once in one sweep.", minimum=1)
RAW_RETENTION_DAYS = conf.Int(
    "RAW_RETENTION_DAYS", 7, "Days raw probe results are kept (minute/hour/day rollups keep the statistics).", minimum=1
)
DEMO_TARGET_URL = conf.Url(
    "DEMO_TARGET_URL",
    "http://127.0.0.1:8765",
    "Where seed_demo finds `manage.py demo_target`.",
    schemes={"http", "https"},
)
WEB_THREADS = conf.Int(
    "WEB_THREADS",
    16,
    "Threads per gunicorn worker (gunicorn.conf.py runs gthread): a ping waiting for its group commit holds "
    "a thread. A web process uses up to this many database connections, plus one for its ping writer.",
    minimum=1,
    maximum=256,
)
PING_RATE_LIMIT = conf.Int(
    "PING_RATE_LIMIT",
    120,
    "Pings a minute one heartbeat check accepts; more get 429 (a job stuck in a retry loop).",
    minimum=1,
)
DISPATCH_EVERY_SECONDS = conf.Int(
    "DISPATCH_EVERY_SECONDS",
    5,
    "How often each worker's probe dispatcher looks for due services (0: no dispatcher in the worker).",
    minimum=0,
)
