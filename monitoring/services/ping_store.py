"""The ping's database work in as few round trips as it can: one indexed lookup, one write.

A ping that leaves the check's status as it is (a success of a check that is up, a failure of
one that is down, a start) is stored by one statement: an ``UPDATE`` of the service under the
same compare-and-set guard as ``state.record_outcome`` (status, enabled, last_checked_at), with
the HeartbeatPing and CheckResult inserts in data-modifying CTEs that only insert when the
update landed. Everything else (a status change, a paused check, a lost compare-and-set) is
handed to ``heartbeats.record_ping``, the ORM path with the flip row, which is the reference
both are tested against.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from django.db import connection

from monitoring.services.choices import CheckType, PingKind, ServiceStatus
from monitoring.services.heartbeat_schedule import deadline_after
from monitoring.services.heartbeats import Ping, failure_error, record_ping, run_duration_ms
from monitoring.services.models import CheckResult, HeartbeatPing, Service
from monitoring.services.probes import ProbeOutcome
from monitoring.services.state import Counters, next_status
from opsportal.sql import bound_cursor

ONE_RESULT_DECIDES = (1, 1)


@dataclass(frozen=True)
class Check:
    """The columns of a heartbeat check that a ping reads (what ``deadline_after`` needs too)."""

    id: int
    enabled: bool
    status: str
    consecutive_failures: int
    consecutive_successes: int
    consecutive_slow: int
    consecutive_fast: int
    last_checked_at: dt.datetime | None
    heartbeat_schedule: str
    heartbeat_period_seconds: int
    heartbeat_cron: str
    heartbeat_timezone: str
    heartbeat_grace_seconds: int
    last_ping_at: dt.datetime | None
    last_start_at: dt.datetime | None

    @property
    def counters(self) -> Counters:
        return Counters(
            self.consecutive_failures, self.consecutive_successes, self.consecutive_slow, self.consecutive_fast
        )


LOOKUP_COLUMNS = tuple(f.name for f in fields(Check))
# Only table and column names are formatted in (from the models, never from a request); values
# are bound parameters.
SERVICE, PING, RESULT = Service._meta.db_table, HeartbeatPing._meta.db_table, CheckResult._meta.db_table
LOOKUP_SQL = f"SELECT {', '.join(LOOKUP_COLUMNS)} FROM {SERVICE} WHERE ping_key = %s AND check_type = %s"  # noqa: S608
PING_INSERT = (
    f"INSERT INTO {PING} (service_id, at, kind, exit_status, duration_ms, method, remote_addr, user_agent, body) "  # noqa: S608
    "SELECT id, %(now)s::timestamptz, %(kind)s::text, %(exit_status)s::smallint, %(duration_ms)s::float8, "
    "%(method)s::text, %(remote_addr)s::text, %(user_agent)s::text, %(body)s::text FROM u"
)
START_SQL = (
    f"WITH u AS (UPDATE {SERVICE} SET last_start_at = %(now)s::timestamptz WHERE id = %(id)s::bigint RETURNING id) "  # noqa: S608
    f"{PING_INSERT} RETURNING 1"
)
RESULT_SQL = (
    f"WITH u AS (UPDATE {SERVICE} SET consecutive_failures = %(consecutive_failures)s, "  # noqa: S608
    "consecutive_successes = %(consecutive_successes)s, consecutive_slow = %(consecutive_slow)s, "
    "consecutive_fast = %(consecutive_fast)s, last_checked_at = %(now)s, last_ok = %(ok)s, "
    "last_latency_ms = %(duration_ms)s, last_status_code = NULL, last_error = %(error)s, "
    "next_due_at = %(next_due_at)s, last_ping_at = %(now)s, last_start_at = NULL "
    "WHERE id = %(id)s::bigint AND status = %(status)s::text AND enabled "
    "AND last_checked_at IS NOT DISTINCT FROM %(last_checked_at)s::timestamptz RETURNING id), "
    f"p AS ({PING_INSERT}) "
    f"INSERT INTO {RESULT} (service_id, at, ok, degraded, latency_ms, status_code, error) "
    "SELECT id, %(now)s::timestamptz, %(ok)s::boolean, false, %(duration_ms)s::float8, NULL, %(error)s::text "
    "FROM u RETURNING 1"
)


def _execute(sql: str, params: Sequence[object] | Mapping[str, object]) -> tuple[object, ...] | None:
    """One statement on Django's connection, as a server-side prepared statement (psycopg
    prepares it once per connection, so PostgreSQL parses and plans it once, not per ping)."""
    with bound_cursor(preparing=True) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def lookup(key: uuid.UUID) -> Check | None:
    """The heartbeat check with this ping key, in one indexed read (no transaction)."""
    if connection.vendor != "postgresql":  # SQLite in development: the ORM
        found = Service.objects.filter(ping_key=key, check_type=CheckType.HEARTBEAT).order_by()
        row = found.values_list(*(c if c != "id" else "pk" for c in LOOKUP_COLUMNS)).first()
    else:
        row = _execute(LOOKUP_SQL, [key, str(CheckType.HEARTBEAT)])
    return Check(*row) if row else None


def _single_statement(check: Check, ping: Ping, now: dt.datetime) -> bool:
    """Store the ping in one statement when it changes no status; False when it must not (or
    on SQLite, which has no data-modifying CTEs)."""
    if connection.vendor != "postgresql":
        return False
    duration_ms = run_duration_ms(ping, check.last_start_at, now)
    params = {
        "id": check.id,
        "now": now,
        "kind": ping.kind,
        "exit_status": ping.exit_status,
        "duration_ms": duration_ms,
        "method": ping.method[:8],
        "remote_addr": ping.remote_addr[:45],
        "user_agent": ping.user_agent[:200],
        "body": ping.body,
    }
    if ping.kind == PingKind.START:
        sql = START_SQL
    else:
        if not check.enabled or check.status == ServiceStatus.PAUSED:
            return False
        ok = ping.kind == PingKind.SUCCESS
        error = failure_error(ping)
        outcome = ProbeOutcome(check.id, now, ok=ok, latency_ms=duration_ms, error=error)
        new_status, counters, _ = next_status(check.status, check.counters, *ONE_RESULT_DECIDES, outcome)
        if new_status != check.status:
            return False  # a flip: the ORM path writes it with its ServiceFlip row
        params |= counters.as_fields() | {
            "ok": ok,
            "error": error[:300],
            "status": check.status,
            "last_checked_at": check.last_checked_at,
            "next_due_at": deadline_after(check, now),
        }
        sql = RESULT_SQL
    return _execute(sql, params) is not None


def store(check: Check, ping: Ping, now: dt.datetime) -> None:
    """Store and apply one ping of ``check`` (from :func:`lookup`)."""
    if not _single_statement(check, ping, now):
        service = Service.objects.filter(pk=check.id).first()
        if service is not None:
            record_ping(service, ping, now=now)
