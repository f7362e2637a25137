"""Settings of maintenance, declared once (read as ``conf.DB_CARE_SLOW_MS.get()``; see opsportal.conf)."""

from __future__ import annotations

from opsportal import conf

# Database care: the runbook's slow-query threshold, the statement timeout of every read-only query
# the page runs, what counts as a long-running query, and VACUUM's time limit.
DB_CARE_SLOW_MS = conf.Int(
    "DB_CARE_SLOW_MS", 1000, "Slow statements are those with a mean above this many ms (pg_stat_statements).", minimum=1
)
DB_CARE_STATEMENT_TIMEOUT_MS = conf.Int(
    "DB_CARE_STATEMENT_TIMEOUT_MS",
    5000,
    "Statement timeout of every read-only database-care query, in ms.",
    minimum=100,
)
DB_CARE_LONG_QUERY_SECONDS = conf.Int(
    "DB_CARE_LONG_QUERY_SECONDS", 60, "Queries running longer than this are listed as long-running.", minimum=1
)
DB_CARE_VACUUM_TIMEOUT_SECONDS = conf.Int(
    "DB_CARE_VACUUM_TIMEOUT_SECONDS", 3600, "How long VACUUM ANALYZE may run, in seconds.", minimum=10
)
MONTHLY_REPORT_EMAILS = conf.List(
    "MONTHLY_REPORT_EMAILS", [], "Addresses the monthly report is emailed to on the 1st (empty: not sent)."
)
