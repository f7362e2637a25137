"""The pings' database work, for many pings at once: one indexed read, one guarded write.

``store_batch`` takes the pings that arrived together (``ping_batch`` collects them from a web
process's request threads, a group commit) and stores them in two statements whatever their
number: a read of their checks by ``ping_key = ANY(...)``, then one statement that updates each
check's row under a compare-and-set guard and inserts the HeartbeatPing and CheckResult rows in
data-modifying CTEs only for the checks whose update landed. The guard is what
``state.record_outcome`` uses (status, enabled, last_checked_at) plus the rate-limit pair
(``ping_window``, ``ping_window_count``), which every accepted ping moves: a ping written by any
other process in between makes the guard miss, and the pings of that check are read and applied
again. The rows are locked in id order first (``l``), so two processes writing the same checks
wait for each other instead of deadlocking.

The state is applied in Python with the same functions the ORM path uses (``next_status``,
``deadline_after``, ``run_duration_ms``). A check whose pings would change its status (a flip
writes a ServiceFlip row and an alert follows), a paused one, or one that keeps losing the race
goes the ORM way, ``heartbeats.record_ping`` under a row lock: the reference both are tested
against. SQLite (development) always goes the ORM way.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from django.db import DatabaseError, connection, transaction

from monitoring.services import conf
from monitoring.services.choices import CheckType, PingKind
from monitoring.services.heartbeat_schedule import deadline_after
from monitoring.services.heartbeats import Ping, failure_error, record_ping, run_duration_ms
from monitoring.services.models import CheckResult, HeartbeatPing, Service
from monitoring.services.probes import ProbeOutcome
from monitoring.services.state import Counters, applies, next_status
from opsportal import metrics
from opsportal.sql import bound_cursor

ONE_RESULT_DECIDES = (1, 1)
WINDOW_SECONDS = 60
# Guarded writes that miss (another process pinged the same check in between) are re-read and
# re-applied this many times before the check's pings go the ORM way under a row lock.
ATTEMPTS = 3


class Stored(enum.Enum):
    """What became of one ping."""

    STORED = "stored"
    STORED_PAUSED = "stored, the check is paused"
    UNKNOWN = "no heartbeat check has this key"
    LIMITED = "over the rate limit"


@dataclass(frozen=True)
class Pinged:
    """One ping request as it arrived: the check's key, what it said, and when."""

    key: uuid.UUID
    ping: Ping
    at: dt.datetime


@dataclass(frozen=True)
class Check:
    """The columns of a heartbeat check that a ping reads (what ``deadline_after`` needs too)."""

    id: int
    ping_key: uuid.UUID
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
    ping_window: int
    ping_window_count: int

    @property
    def counters(self) -> Counters:
        return Counters(
            self.consecutive_failures, self.consecutive_successes, self.consecutive_slow, self.consecutive_fast
        )


def window_of(at: dt.datetime) -> int:
    return int(at.timestamp() // WINDOW_SECONDS)


@dataclass
class RateWindow:
    """The rate limit of one check: the current minute (``window_of``) and the pings taken in it."""

    window: int
    count: int
    limit: int

    def take(self, at: dt.datetime) -> bool:
        """Count a ping at ``at``; False (and nothing changes) when its minute already has
        ``limit`` pings. A new minute starts from zero, so it never refuses."""
        current = window_of(at)
        if current != self.window:
            self.window, self.count = current, 0
        if self.count >= self.limit:
            return False
        self.count += 1
        return True


@dataclass
class _Applied:
    """A check's row after its pings of one batch, applied in arrival order (nothing written yet).
    The check's status stays as read: a ping that would change it sends the check the ORM way."""

    check: Check
    counters: Counters
    rate: RateWindow
    last_start_at: dt.datetime | None
    pings: list[tuple[int, Pinged, float | None]] = field(default_factory=list)  # (index, ping, duration)
    results: list[tuple[Pinged, bool, float | None, str]] = field(default_factory=list)
    next_due: dt.datetime | None = None  # after the last result, when a result came
    flips: bool = False


def _apply(
    check: Check, group: list[tuple[int, Pinged]], limit: int, answers: list[Stored | DatabaseError | None]
) -> _Applied:
    rate = RateWindow(check.ping_window, check.ping_window_count, limit)
    row = _Applied(check, check.counters, rate, check.last_start_at)
    for index, item in group:
        if not rate.take(item.at):
            answers[index] = Stored.LIMITED
            continue
        ping = item.ping
        duration = run_duration_ms(ping, row.last_start_at, item.at)
        row.pings.append((index, item, duration))
        answers[index] = Stored.STORED
        if ping.kind == PingKind.START:
            row.last_start_at = item.at
            continue
        ok = ping.kind == PingKind.SUCCESS
        error = failure_error(ping)
        outcome = ProbeOutcome(check.id, item.at, ok=ok, latency_ms=duration, error=error)
        new_status, row.counters, _ = next_status(check.status, row.counters, *ONE_RESULT_DECIDES, outcome)
        if new_status != check.status:
            row.flips = True
            return row
        row.last_start_at = None
        row.results.append((item, ok, duration, error[:300]))
        row.next_due = deadline_after(check, item.at)
    return row


# Only table and column names are formatted in (from the models, never from a request); values
# are bound parameters.
SERVICE, PING, RESULT = Service._meta.db_table, HeartbeatPing._meta.db_table, CheckResult._meta.db_table
READ_COLUMNS = tuple(f.name for f in fields(Check))
READ_SQL = (
    f"SELECT {', '.join(READ_COLUMNS)} FROM {SERVICE} "  # noqa: S608
    "WHERE ping_key = ANY(string_to_array(%s, ',')::uuid[]) AND check_type = %s"
)
# The batch travels as three JSON arrays of positional rows (checks, pings, results): psycopg
# dumps a list parameter element by element in Python, json.dumps in C. PostgreSQL reads them as
# jsonb (parsed once; on json each ->> scans the element again: a third of the statement's CPU).
# The read's keys travel as one comma-separated text for the same reason.
WRITE_SQL = f"""
WITH s AS (
  SELECT (e->>0)::bigint AS id, e->>1 AS old_status, (e->>2)::timestamptz AS old_checked,
    (e->>3)::bigint AS old_window, (e->>4)::int AS old_count, (e->>5)::bigint AS win, (e->>6)::int AS cnt,
    (e->>7)::timestamptz AS start_at, (e->>8)::bool AS has_result, (e->>9)::int AS failures,
    (e->>10)::int AS successes, (e->>11)::int AS slow, (e->>12)::int AS fast,
    (e->>13)::timestamptz AS checked, (e->>14)::bool AS ok, (e->>15)::float8 AS latency,
    e->>16 AS error, (e->>17)::timestamptz AS next_due
  FROM jsonb_array_elements(%(checks)s::jsonb) AS e
), l AS (
  SELECT id FROM {SERVICE} WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE
), u AS (
  UPDATE {SERVICE} AS t SET ping_window = s.win, ping_window_count = s.cnt, last_start_at = s.start_at,
    consecutive_failures = CASE WHEN s.has_result THEN s.failures ELSE t.consecutive_failures END,
    consecutive_successes = CASE WHEN s.has_result THEN s.successes ELSE t.consecutive_successes END,
    consecutive_slow = CASE WHEN s.has_result THEN s.slow ELSE t.consecutive_slow END,
    consecutive_fast = CASE WHEN s.has_result THEN s.fast ELSE t.consecutive_fast END,
    last_checked_at = CASE WHEN s.has_result THEN s.checked ELSE t.last_checked_at END,
    last_ping_at = CASE WHEN s.has_result THEN s.checked ELSE t.last_ping_at END,
    last_ok = CASE WHEN s.has_result THEN s.ok ELSE t.last_ok END,
    last_latency_ms = CASE WHEN s.has_result THEN s.latency ELSE t.last_latency_ms END,
    last_status_code = CASE WHEN s.has_result THEN NULL ELSE t.last_status_code END,
    last_error = CASE WHEN s.has_result THEN s.error ELSE t.last_error END,
    next_due_at = CASE WHEN s.has_result THEN s.next_due ELSE t.next_due_at END
  FROM s WHERE t.id = s.id AND t.id IN (SELECT id FROM l) AND t.status = s.old_status AND t.enabled
    AND t.last_checked_at IS NOT DISTINCT FROM s.old_checked
    AND t.ping_window = s.old_window AND t.ping_window_count = s.old_count
  RETURNING t.id
), p AS (
  INSERT INTO {PING} (service_id, at, kind, exit_status, duration_ms, method, remote_addr, user_agent, body)
  SELECT (e->>0)::bigint, (e->>1)::timestamptz, e->>2, (e->>3)::smallint, (e->>4)::float8, e->>5, e->>6,
    e->>7, e->>8
  FROM jsonb_array_elements(%(pings)s::jsonb) AS e
  WHERE (e->>0)::bigint IN (SELECT id FROM u)
), r AS (
  INSERT INTO {RESULT} (service_id, at, ok, degraded, latency_ms, status_code, error)
  SELECT (e->>0)::bigint, (e->>1)::timestamptz, (e->>2)::bool, false, (e->>3)::float8, NULL, e->>4
  FROM jsonb_array_elements(%(results)s::jsonb) AS e
  WHERE (e->>0)::bigint IN (SELECT id FROM u)
)
SELECT id FROM u
"""  # noqa: S608

SLOW_WAY = metrics.Counter(
    "opsportal_pings_orm_path",
    "Pings stored the ORM way (a status change, a paused check, a lost race), not by the batch statement",
    registry=metrics.REGISTRY,
)


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _write_params(rows: Sequence[_Applied]) -> dict[str, object]:
    checks, pings, results = [], [], []
    for row in rows:
        c, n = row.check, row.counters
        last, ok, duration, error = row.results[-1] if row.results else (None, None, None, "")
        checks.append((
            c.id, c.status, _iso(c.last_checked_at), c.ping_window, c.ping_window_count, row.rate.window,
            row.rate.count, _iso(row.last_start_at), last is not None, n.failures, n.successes, n.slow, n.fast,
            _iso(last and last.at), ok, duration, error, _iso(row.next_due),
        ))  # fmt: skip
        for _, item, duration in row.pings:
            ping = item.ping
            pings.append((
                c.id, item.at.isoformat(), ping.kind, ping.exit_status, duration, ping.method[:8],
                ping.remote_addr[:45], ping.user_agent[:200], ping.body,
            ))  # fmt: skip
        for item, ok, duration, error in row.results:
            results.append((c.id, item.at.isoformat(), ok, duration, error))
    # ``ids`` repeats the checks' ids as an array on purpose: locking by ``id IN (SELECT id FROM
    # s)`` instead gave a generic plan that scans the table (PostgreSQL CPU of a lone ping 0.7 ->
    # 1.9 ms, measured).
    return {
        "checks": json.dumps(checks), "pings": json.dumps(pings), "results": json.dumps(results),
        "ids": [row.check.id for row in rows],
    }  # fmt: skip


def _read(keys: list[uuid.UUID]) -> dict[uuid.UUID, Check]:
    with bound_cursor(preparing=True) as cursor:
        cursor.execute(READ_SQL, [",".join(map(str, keys)), str(CheckType.HEARTBEAT)], prepare=True)
        return {row[1]: Check(*row) for row in cursor.fetchall()}


def _write(rows: Sequence[_Applied]) -> set[int]:
    if not rows:
        return set()
    with bound_cursor(preparing=True) as cursor:
        cursor.execute(WRITE_SQL, _write_params(rows), prepare=True)
        return {r[0] for r in cursor.fetchall()}


def _answer_all(
    group: list[tuple[int, Pinged]], answers: list[Stored | DatabaseError | None], answer: Stored | DatabaseError
) -> None:
    for index, _item in group:
        answers[index] = answer


def store_batch(items: Sequence[Pinged]) -> list[Stored | DatabaseError]:
    """Store and apply ``items`` (in arrival order); what became of each, in the same order.

    A database error fails only the pings it kept from being stored (they are answered with
    the error; nothing of them was written): the write is one statement, and each check that
    goes the ORM way is one transaction. Pings already written stay answered as stored.
    """
    answers: list[Stored | DatabaseError | None] = [None] * len(items)
    limit = conf.PING_RATE_LIMIT.get()
    pending: dict[uuid.UUID, list[tuple[int, Pinged]]] = defaultdict(list)
    for index, item in enumerate(items):
        pending[item.key].append((index, item))
    slow: dict[int, list[tuple[int, Pinged]]] = {}
    try:
        if connection.vendor == "postgresql":
            _store_in_batches(pending, limit, answers, slow)
        else:
            _sort_for_the_orm(pending, answers, slow)
    except DatabaseError as error:
        for group in pending.values():
            _answer_all(group, answers, error)
    for service_id, group in slow.items():
        try:
            _store_the_orm_way(service_id, group, limit, answers)
        except DatabaseError as error:
            _answer_all(group, answers, error)
    return [Stored.UNKNOWN if a is None else a for a in answers]


def _store_in_batches(
    pending: dict[uuid.UUID, list[tuple[int, Pinged]]],
    limit: int,
    answers: list[Stored | DatabaseError | None],
    slow: dict[int, list[tuple[int, Pinged]]],
) -> None:
    """Read, apply, write; again for the checks whose guarded write missed. ``pending`` is left
    holding what is not written (on an error: what the error kept from being stored)."""
    for attempt in range(ATTEMPTS):
        checks = _read(list(pending))
        rows = []
        for key in list(pending):
            check = checks.get(key)
            if check is None:
                _answer_all(pending.pop(key), answers, Stored.UNKNOWN)
                continue
            row = _apply(check, pending[key], limit, answers) if applies(check) else None  # type: ignore[arg-type]
            if row is None or row.flips or attempt == ATTEMPTS - 1:
                slow[check.id] = pending.pop(key)  # the last attempt is under the row lock
            else:
                rows.append(row)
        landed = _write(rows)
        for row in rows:
            if row.check.id in landed:
                del pending[row.check.ping_key]
        if not pending:
            return


def _sort_for_the_orm(
    pending: dict[uuid.UUID, list[tuple[int, Pinged]]],
    answers: list[Stored | DatabaseError | None],
    slow: dict[int, list[tuple[int, Pinged]]],
) -> None:
    ids = dict(
        Service.objects.filter(ping_key__in=list(pending), check_type=CheckType.HEARTBEAT).values_list("ping_key", "pk")
    )
    for key in list(pending):
        group = pending.pop(key)
        if key in ids:
            slow[ids[key]] = group
        else:
            _answer_all(group, answers, Stored.UNKNOWN)


def _store_the_orm_way(
    service_id: int, group: list[tuple[int, Pinged]], limit: int, answers: list[Stored | DatabaseError | None]
) -> None:
    """``record_ping`` for each ping of one check, under its row lock, with the rate limit."""
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None:  # deleted meanwhile
            _answer_all(group, answers, Stored.UNKNOWN)
            return
        rate = RateWindow(service.ping_window, service.ping_window_count, limit)
        for index, item in group:
            if not rate.take(item.at):
                answers[index] = Stored.LIMITED
                continue
            paused = not applies(service)
            record_ping(service, item.ping, now=item.at)
            SLOW_WAY.inc()
            service.refresh_from_db(fields=[*Service.STATE_FIELDS, "enabled"])
            answers[index] = Stored.STORED_PAUSED if paused else Stored.STORED
        Service.objects.filter(pk=service_id).update(ping_window=rate.window, ping_window_count=rate.count)
