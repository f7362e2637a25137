"""Recording one sweep's outcomes in a few statements: the results, every state, the flips.

``record_sweep()`` does for a whole sweep what ``state.record_outcome()`` does for one result.
On PostgreSQL the results are inserted by one ``INSERT ... SELECT FROM unnest(...)``; the state
of every service is written by one ``UPDATE ... FROM unnest(...)`` whose WHERE is the same
compare-and-set as record_outcome's (status and last_checked_at as read, still enabled, still
holding this sweep's claim), and the flips of the rows that won and changed status are inserted in
the same transaction. A row that lost (someone wrote it after it was claimed) goes through
``record_outcome()`` as it always did: read again, dropped when the claim was taken over,
re-applied otherwise. Other databases (the SQLite default of ``make run``) record row by row.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError, connection, transaction

from monitoring.services.models import CheckResult, Service, ServiceFlip
from monitoring.services.probes import ProbeOutcome
from monitoring.services.state import Plan, applies, plan, record_outcome
from opsportal.sql import bound_cursor

log = logging.getLogger(__name__)

# (service as claimed, its result, its next due time)
Item = tuple[Service, ProbeOutcome, dt.datetime]


def _result_rows(pairs: list[tuple[Service, ProbeOutcome]]) -> list[list[object]]:
    columns: list[list[object]] = [[] for _ in range(7)]
    for service, o in pairs:
        for column, value in zip(
            columns,
            (service.pk, o.checked_at, o.ok, o.degraded, o.latency_ms, o.status_code, o.error[:300]),
            strict=True,
        ):
            column.append(value)
    return columns


def insert_results(pairs: list[tuple[Service, ProbeOutcome]]) -> None:
    """Store one CheckResult per (service, outcome): one statement on PostgreSQL, whatever the number."""
    if not pairs:
        return
    if connection.vendor != "postgresql":
        CheckResult.objects.bulk_create(
            [
                CheckResult(
                    service_id=s.pk,
                    at=o.checked_at,
                    ok=o.ok,
                    degraded=o.degraded,
                    latency_ms=o.latency_ms,
                    status_code=o.status_code,
                    error=o.error[:300],
                )
                for s, o in pairs
            ],
            batch_size=1000,
        )
        return
    sql = (
        f"INSERT INTO {CheckResult._meta.db_table} (service_id, at, ok, degraded, latency_ms, status_code, error) "  # noqa: S608 - table name from the model
        "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::bool[], %s::bool[], %s::float8[], "
        "%s::smallint[], %s::varchar[])"
    )
    with bound_cursor() as cursor:
        cursor.execute(sql, _result_rows(pairs))


_CAS = f"""
UPDATE {Service._meta.db_table} AS s SET
    status = v.new_status,
    status_since = CASE WHEN v.changed THEN v.at ELSE s.status_since END,
    status_reason = CASE WHEN v.changed THEN v.reason ELSE s.status_reason END,
    consecutive_failures = v.failures,
    consecutive_successes = v.successes,
    consecutive_slow = v.slow,
    consecutive_fast = v.fast,
    last_checked_at = v.at,
    last_ok = v.ok,
    last_latency_ms = v.latency,
    last_status_code = v.code,
    last_error = v.error,
    cert_expires_at = COALESCE(v.cert, s.cert_expires_at),
    next_due_at = v.due,
    claim_token = '',
    claimed_until = NULL
FROM unnest(
    %s::bigint[], %s::varchar[], %s::timestamptz[], %s::varchar[], %s::bool[], %s::varchar[],
    %s::int[], %s::int[], %s::int[], %s::int[],
    %s::timestamptz[], %s::bool[], %s::float8[], %s::smallint[], %s::varchar[], %s::timestamptz[], %s::timestamptz[]
) AS v(id, old_status, old_checked, new_status, changed, reason, failures, successes, slow, fast,
       at, ok, latency, code, error, cert, due)
WHERE s.id = v.id AND s.status = v.old_status AND s.enabled AND s.claim_token = %s
    AND s.last_checked_at IS NOT DISTINCT FROM v.old_checked
RETURNING s.id
"""  # noqa: S608 - the table name comes from the model


def _compare_and_set(planned: list[tuple[Service, Plan]], token: str) -> set[int]:
    """One guarded UPDATE of every planned row; returns the ids whose update landed."""
    names = [
        "consecutive_failures",
        "consecutive_successes",
        "consecutive_slow",
        "consecutive_fast",
        "last_checked_at",
        "last_ok",
        "last_latency_ms",
        "last_status_code",
        "last_error",
    ]
    columns: list[list[object]] = [[] for _ in range(17)]
    for service, p in planned:
        f = p.fields
        values = (
            service.pk,
            p.old_status,
            service.last_checked_at,
            p.new_status,
            p.changed,
            p.reason,
            *(f[name] for name in names),
            f.get("cert_expires_at"),
            f["next_due_at"],
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with bound_cursor() as cursor:
        cursor.execute(_CAS, [*columns, token])
        return {row[0] for row in cursor.fetchall()}


def record_sweep(items: list[Item], token: str) -> list[ServiceFlip]:
    """Store the results of one sweep under its claim ``token`` and apply them; returns the flips written."""
    if not items:
        return []
    insert_results([(s, o) for s, o, _due in items])
    if connection.vendor != "postgresql":
        flips = (record_outcome(s, o, claim_token=token, next_due_at=due) for s, o, due in items)
        return [f for f in flips if f is not None]
    planned = [(s, o, plan(s, o, claim_token=token, next_due_at=due)) for s, o, due in items if applies(s)]
    won: set[int] = set()
    flips: list[ServiceFlip] = []
    try:
        with transaction.atomic():
            won = _compare_and_set([(s, p) for s, _o, p in planned], token)
            flips = ServiceFlip.objects.bulk_create(
                [
                    ServiceFlip(
                        service_id=s.pk,
                        at=o.checked_at,
                        old_status=p.old_status,
                        new_status=p.new_status,
                        reason=p.reason[:300],
                    )
                    for s, o, p in planned
                    if p.changed and s.pk in won
                ]
            )
    except DatabaseError:  # a deadlock with a bulk edit of the same rows, say: row by row instead
        log.warning("bulk state update failed; recording %d results one by one", len(planned), exc_info=True)
        won, flips = set(), []
    for service, outcome, p in planned:
        if service.pk in won:
            for key, value in p.fields.items():
                setattr(service, key, value)
            continue
        flip = _reapply(service, outcome, token, p.fields["next_due_at"])
        if flip is not None:
            flips.append(flip)
    return flips


def _reapply(service: Service, outcome: ProbeOutcome, token: str, next_due_at: dt.datetime) -> ServiceFlip | None:
    """A lost compare-and-set, as record_outcome handles its own: read again; apply unless the claim is gone."""
    try:
        service.refresh_from_db()
    except Service.DoesNotExist:
        return None
    if service.claim_token != token:
        return None
    return record_outcome(service, outcome, claim_token=token, next_due_at=next_due_at, attempts=2)


def reschedule(dues: list[tuple[Service, dt.datetime]], token: str) -> int:
    """Give claimed services a new due time without probing them, and release their claim."""
    if connection.vendor != "postgresql":
        return sum(
            Service.objects.filter(pk=s.pk, claim_token=token).update(
                next_due_at=due, claim_token="", claimed_until=None
            )
            for s, due in dues
        )
    sql = (
        f"UPDATE {Service._meta.db_table} AS s SET next_due_at = v.due, claim_token = '', claimed_until = NULL "  # noqa: S608 - the table name comes from the model
        "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, due) WHERE s.id = v.id AND s.claim_token = %s"
    )
    with bound_cursor() as cursor:
        cursor.execute(sql, [[s.pk for s, _ in dues], [due for _, due in dues], token])
        moved = cursor.rowcount
    for service, due in dues:
        service.next_due_at = due
    return moved
