"""Settings of alerts and notifications, declared once (read as ``conf.NOTIFY_BATCH.get()``; see opsportal.conf)."""

from __future__ import annotations

from opsportal import conf

ALERT_FLAP_FLIPS = conf.Int(
    "ALERT_FLAP_FLIPS", 5, "A service flipping more than this many times in ALERT_FLAP_MINUTES is flapping.", minimum=1
)
ALERT_FLAP_MINUTES = conf.Int("ALERT_FLAP_MINUTES", 10, "The window of the flapping count, in minutes.", minimum=1)
NOTIFY_TIMEOUT_SECONDS = conf.Seconds("NOTIFY_TIMEOUT_SECONDS", 10.0, "Time limit of one notification delivery.")
NOTIFY_BACKOFF_SECONDS = conf.Seconds(
    "NOTIFY_BACKOFF_SECONDS", 30.0, "First retry delay of a failed delivery; doubles on each try."
)
NOTIFY_BACKOFF_MAX_SECONDS = conf.Seconds("NOTIFY_BACKOFF_MAX_SECONDS", 3600.0, "Longest retry delay.")
NOTIFY_RETRY_AFTER_MAX_SECONDS = conf.Seconds(
    "NOTIFY_RETRY_AFTER_MAX_SECONDS", 3600.0, "Longest Retry-After of a receiver that is honoured."
)
NOTIFY_MAX_ATTEMPTS = conf.Int("NOTIFY_MAX_ATTEMPTS", 8, "Tries of one delivery before it is given up.", minimum=1)
NOTIFY_LEASE_SECONDS = conf.Seconds(
    "NOTIFY_LEASE_SECONDS", 120.0, "A claimed delivery not recorded within this is retried by another worker."
)
NOTIFY_BATCH = conf.Int("NOTIFY_BATCH", 500, "Outbox rows one notification pass claims.", minimum=1)
NOTIFY_CONCURRENCY = conf.Int("NOTIFY_CONCURRENCY", 16, "Deliveries sent at once by one pass.", minimum=1)
NOTIFY_GROUP_MAX = conf.Int(
    "NOTIFY_GROUP_MAX", 50, "Up to this many alerts go to one channel in one grouped message.", minimum=1
)
