"""The ping's fast path: the WSGI application answers /ping/ ahead of Django's middleware, with
one lookup and one statement, and leaves exactly the rows the ORM path (heartbeats.record_ping)
leaves; anything that changes a status, a paused check or a lost compare-and-set goes the ORM way.

The HTTP tests serve ``opsportal.wsgi.application`` (what gunicorn runs) on a loopback port."""

from __future__ import annotations

import datetime as dt
import http.client
import threading
import uuid
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.db import DatabaseError
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitoring.services import ping_batch, ping_store
from monitoring.services.choices import PingKind, ServiceStatus
from monitoring.services.heartbeats import BODY_LIMIT, Ping, record_ping
from monitoring.services.models import CheckResult, HeartbeatPing, Service, ServiceFlip
from opsportal import metrics
from tests.monitoring.services.factories import HeartbeatFactory, ServiceFactory

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
SEQUENCE = [  # (minutes after T0, kind, exit status): runs that pass, fail, recover, start and finish
    (0, PingKind.SUCCESS, None),
    (60, PingKind.SUCCESS, None),
    (61, PingKind.START, None),
    (62, PingKind.SUCCESS, 0),
    (120, PingKind.FAIL, 3),
    (121, PingKind.FAIL, None),
    (180, PingKind.START, None),
    (181, PingKind.SUCCESS, None),
    (240, PingKind.SUCCESS, None),
]


def _state(service: Service) -> dict[str, Any]:
    fresh = Service.objects.get(pk=service.pk)
    rows = {
        "service": {name: getattr(fresh, name) for name in Service.STATE_FIELDS},
        "pings": list(
            HeartbeatPing.objects.filter(service=service)
            .order_by("at")
            .values_list("at", "kind", "exit_status", "duration_ms", "method", "body")
        ),
        "results": list(
            CheckResult.objects.filter(service=service)
            .order_by("at")
            .values_list("at", "ok", "degraded", "latency_ms", "status_code", "error")
        ),
        "flips": list(
            ServiceFlip.objects.filter(service=service).order_by("at").values_list("at", "old_status", "new_status")
        ),
    }
    return rows


def _store(key: uuid.UUID, ping: Ping, at: dt.datetime) -> ping_store.Stored:
    return ping_store.store_batch([ping_store.Pinged(key, ping, at)])[0]


def _orm_way() -> float:
    return metrics.REGISTRY.get_sample_value("opsportal_pings_orm_path_total") or 0.0


@pytest.mark.django_db
def test_the_batch_statement_leaves_exactly_the_rows_of_the_orm_path() -> None:
    fast = HeartbeatFactory(slug="fast", heartbeat_period_seconds=3600, heartbeat_grace_seconds=600)
    slow = HeartbeatFactory(slug="slow", heartbeat_period_seconds=3600, heartbeat_grace_seconds=600)
    ways = []
    for minutes, kind, status in SEQUENCE:
        now = T0 + dt.timedelta(minutes=minutes)
        ping = Ping(kind, status, "POST", "127.0.0.1", "curl/8", f"run at +{minutes} min")
        before = _orm_way()
        assert _store(fast.ping_key, ping, now) == ping_store.Stored.STORED
        ways.append("orm" if _orm_way() > before else "batch")
        record_ping(Service.objects.get(pk=slow.pk), ping, now=now)
    fast_state, slow_state = _state(fast), _state(slow)
    assert fast_state["service"] == slow_state["service"]
    for part in ("pings", "results", "flips"):
        assert fast_state[part] == slow_state[part], part
    # The first success (UNKNOWN -> UP), the first failure (UP -> DOWN) and the recovery flip
    # went the ORM way; the other six were the batch statement.
    assert ways == ["orm", "batch", "batch", "batch", "orm", "batch", "batch", "orm", "batch"]
    assert [f[2] for f in fast_state["flips"]] == [ServiceStatus.UP, ServiceStatus.DOWN, ServiceStatus.UP]


@pytest.mark.django_db
def test_one_batch_of_many_checks_matches_the_pings_applied_one_by_one(settings: Any) -> None:
    """Several pings of one check in a batch apply in arrival order (start then result: a run
    time); an unknown key, a paused check, a non-heartbeat check and the rate limit in the same
    batch each get their own answer."""
    settings.PING_RATE_LIMIT = 4
    up = {"status": ServiceStatus.UP, "status_since": T0, "last_checked_at": T0, "last_ping_at": T0}
    batch_checks = [HeartbeatFactory(slug=f"b{n}", **up) for n in range(3)]
    one_by_one = [HeartbeatFactory(slug=f"o{n}", **up) for n in range(3)]
    paused = HeartbeatFactory(slug="paused", enabled=False)
    http_check = ServiceFactory(slug="http")
    at = [T0 + dt.timedelta(minutes=1, seconds=s) for s in range(8)]
    plan = [  # (check index, kind, second)
        (0, PingKind.START, 0), (0, PingKind.SUCCESS, 1), (1, PingKind.SUCCESS, 1), (2, PingKind.START, 2),
        (1, PingKind.SUCCESS, 3), (1, PingKind.SUCCESS, 4), (1, PingKind.SUCCESS, 5), (1, PingKind.SUCCESS, 6),
    ]  # fmt: skip
    items = [ping_store.Pinged(batch_checks[i].ping_key, Ping(kind), at[sec]) for i, kind, sec in plan]
    items += [
        ping_store.Pinged(uuid.uuid4(), Ping(PingKind.SUCCESS), at[7]),
        ping_store.Pinged(paused.ping_key, Ping(PingKind.SUCCESS), at[7]),
        ping_store.Pinged(http_check.ping_key, Ping(PingKind.SUCCESS), at[7]),
    ]
    answers = ping_store.store_batch(items)
    stored, limited = ping_store.Stored.STORED, ping_store.Stored.LIMITED
    assert answers == [stored] * 7 + [limited, ping_store.Stored.UNKNOWN, ping_store.Stored.STORED_PAUSED,
                                      ping_store.Stored.UNKNOWN]  # fmt: skip
    for i, kind, sec in plan[:7]:
        _store(one_by_one[i].ping_key, Ping(kind), at[sec])
    assert _store(one_by_one[1].ping_key, Ping(PingKind.SUCCESS), at[6]) == limited
    for batched, alone in zip(batch_checks, one_by_one, strict=True):
        b, o = _state(batched), _state(alone)
        assert b["service"] == o["service"] and b["pings"] == o["pings"] and b["results"] == o["results"]
    timed = HeartbeatPing.objects.get(service=batch_checks[0], kind=PingKind.SUCCESS)
    assert timed.duration_ms == 1000.0
    assert Service.objects.get(pk=batch_checks[1].pk).ping_window_count == 4
    assert Service.objects.get(pk=batch_checks[2].pk).last_start_at == at[2]
    assert HeartbeatPing.objects.filter(service=paused).count() == 1
    assert not HeartbeatPing.objects.filter(service=http_check).exists()


@pytest.mark.django_db
def test_the_read_and_the_write_are_prepared_statements_on_the_server() -> None:
    """Parsed and planned once per connection: Django turns psycopg's preparation off, and
    prepare=True alone was silently ignored (the server had no prepared statement at all)."""
    from django.db import connection

    check = HeartbeatFactory(slug="prepared", status=ServiceStatus.UP, last_checked_at=T0)
    for minutes in (1, 2):
        assert _store(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=minutes)) == (
            ping_store.Stored.STORED
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        plans = {row[0]: row[1:] for row in cursor.fetchall()}
    prepared = set(plans)
    # Planned once, generically: PostgreSQL's own choice re-planned the write of a batch of one
    # on every execution.
    assert all(generic >= 1 and custom == 0 for generic, custom in plans.values()), plans
    assert any(s.startswith("SELECT id, ping_key") and "string_to_array($1, ',')::uuid[]" in s for s in prepared), (
        prepared
    )
    assert any(s.strip().startswith("WITH s AS") for s in prepared), prepared
    # Django's own queries on the same connection are not prepared (only what asks for it).
    assert not any("django_" in s for s in prepared)


def test_the_read_loads_the_same_instants_as_the_orm() -> None:
    """The read takes psycopg's C timestamp loader, not Django's: same instants, aware, in UTC."""
    check = HeartbeatFactory(slug="instants", status=ServiceStatus.UP, last_checked_at=T0)
    Service.objects.filter(pk=check.pk).update(
        last_ping_at=T0 + dt.timedelta(microseconds=123457), last_start_at=T0 - dt.timedelta(hours=3)
    )
    orm = Service.objects.get(pk=check.pk)
    read = ping_store._read([check.ping_key])[check.ping_key]
    for name in ("last_checked_at", "last_ping_at", "last_start_at"):
        value = getattr(read, name)
        assert value == getattr(orm, name), name
        assert value.utcoffset() == dt.timedelta(0), name


def test_racing_writers_lose_no_ping_and_count_every_success(transactional_db: Any) -> None:
    """Four threads (four connections, as four web processes) store 25 pings each of the same
    two checks at once: the guarded writes that miss are re-applied, nothing is lost or doubled."""
    checks = [HeartbeatFactory(slug=f"raced-{n}", status=ServiceStatus.UP, last_checked_at=T0) for n in range(2)]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        from django.db import connection

        try:
            for i in range(25):
                at = T0 + dt.timedelta(seconds=1 + n * 100 + i)
                items = [ping_store.Pinged(c.ping_key, Ping(PingKind.SUCCESS), at) for c in checks]
                assert ping_store.store_batch(items) == [ping_store.Stored.STORED] * 2
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    from django.test import override_settings

    with override_settings(PING_RATE_LIMIT=1000):
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    for check in checks:
        fresh = Service.objects.get(pk=check.pk)
        assert HeartbeatPing.objects.filter(service=check).count() == 100
        assert CheckResult.objects.filter(service=check).count() == 100
        assert fresh.consecutive_successes == 100 and fresh.status == ServiceStatus.UP


@pytest.mark.django_db
def test_a_paused_check_stores_the_ping_and_leaves_the_state() -> None:
    service = HeartbeatFactory(slug="paused", enabled=False)
    assert _store(service.ping_key, Ping(PingKind.SUCCESS), T0) == ping_store.Stored.STORED_PAUSED
    fresh = Service.objects.get(pk=service.pk)
    assert fresh.status == ServiceStatus.PAUSED and fresh.last_ping_at == T0 and fresh.consecutive_successes == 0
    assert HeartbeatPing.objects.filter(service=service).count() == 1


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def portal(transactional_db: Any) -> Iterator[tuple[str, int]]:
    """``opsportal.wsgi.application``, as gunicorn serves it, on a loopback port."""
    from opsportal.wsgi import application

    server = make_server("127.0.0.1", 0, application, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    ping_batch.stop()  # the writer thread and its connection
    server.shutdown()
    server.server_close()


def _request(portal: tuple[str, int], method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
    conn = http.client.HTTPConnection(*portal, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def _fast_count(status: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "opsportal_http_requests_total", {"view": "ping", "method": "GET", "status": status}
        )
        or 0.0
    )


def test_pings_over_http_through_the_wsgi_application(portal: tuple[str, int], settings: Any) -> None:
    service = HeartbeatFactory(slug="nightly")
    before = _fast_count("200")
    status, headers, body = _request(portal, "GET", f"/ping/{service.ping_key}")
    assert (status, body) == (200, b"OK\n")
    assert headers["X-Content-Type-Options"] == "nosniff" and "Set-Cookie" not in headers
    assert "sessionid" not in headers.get("Vary", "") and headers["Content-Type"].startswith("text/plain")
    assert _fast_count("200") == before + 1  # answered by the fast path, counted in /metrics
    status, _, body = _request(portal, "GET", f"/ping/{service.ping_key}")
    assert Service.objects.get(pk=service.pk).consecutive_successes == 2

    log_tail = b"pg_dump: done\n" * 1000
    status, _, _ = _request(portal, "POST", f"/ping/{service.ping_key}/1", log_tail, **{"Content-Type": "text/plain"})
    assert status == 200
    failed = HeartbeatPing.objects.get(service=service, kind=PingKind.FAIL)
    assert failed.exit_status == 1 and failed.body.encode() == log_tail[:BODY_LIMIT] and failed.method == "POST"
    fresh = Service.objects.get(pk=service.pk)
    assert fresh.status == ServiceStatus.DOWN and "exit status 1" in fresh.status_reason

    status, headers, body = _request(portal, "HEAD", f"/ping/{service.ping_key}/start")
    assert status == 200 and body == b"" and headers["Content-Length"] == "3"
    assert Service.objects.get(pk=service.pk).last_start_at is not None


def test_refusals_over_http_store_nothing(portal: tuple[str, int], settings: Any) -> None:
    settings.PING_RATE_LIMIT = 3
    service = HeartbeatFactory(slug="nightly")
    http_check = ServiceFactory(slug="api-http")
    assert _request(portal, "GET", f"/ping/{uuid.uuid4()}")[0] == 404
    assert _request(portal, "GET", f"/ping/{http_check.ping_key}")[0] == 404  # not a heartbeat check
    assert _request(portal, "GET", f"/ping/{str(service.ping_key).upper()}")[0] == 404  # Django's converter
    assert _request(portal, "GET", f"/ping/{service.ping_key}/256")[0] == 400
    status, headers, _ = _request(portal, "PUT", f"/ping/{service.ping_key}")
    assert status == 405 and headers["Allow"] == "GET, HEAD, POST"
    assert HeartbeatPing.objects.count() == 0
    codes = [_request(portal, "GET", f"/ping/{service.ping_key}")[0] for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]  # refused requests (400, 405) are not counted
    assert HeartbeatPing.objects.count() == 3
    assert _request(portal, "GET", "/ping/")[0] == 404  # not a ping path: Django answers


def test_a_failing_fast_path_hands_the_request_to_django(
    portal: tuple[str, int], monkeypatch: Any, caplog: Any
) -> None:
    service = HeartbeatFactory(slug="nightly")
    calls = []

    def broken(environ: Any) -> None:
        calls.append(environ["PATH_INFO"])
        raise RuntimeError("boom")

    from opsportal import fastpath

    route = next(r for r in fastpath.routes() if r.prefix == "/ping/")
    monkeypatch.setattr(fastpath, "_routes", [fastpath.Route(route.prefix, route.view_name, broken)])
    status, _, body = _request(portal, "GET", f"/ping/{service.ping_key}")
    assert (status, body) == (200, b"OK\n") and calls  # Django's view answered it
    assert HeartbeatPing.objects.filter(service=service).count() == 1
    assert "fast path ping failed" in caplog.text


def test_the_writer_thread_stores_concurrent_pings_in_shared_batches(transactional_db: Any) -> None:
    """40 request threads ping at once: every one is answered stored, with its own row, in fewer
    writes than pings (a group commit)."""
    checks = [HeartbeatFactory(slug=f"grouped-{n}", status=ServiceStatus.UP, last_checked_at=T0) for n in range(40)]
    before = _batch_figures()
    batcher = ping_batch.Batcher()
    start = threading.Barrier(40)
    answers: list[object] = []

    def ping(check: Service) -> None:
        start.wait()
        answers.append(batcher.submit(ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(1))))

    try:
        threads = [threading.Thread(target=ping, args=(c,)) for c in checks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        batcher.stop()
    assert answers == [ping_store.Stored.STORED] * 40
    assert HeartbeatPing.objects.count() == 40 and CheckResult.objects.count() == 40
    pings, batches, of_one = (after - was for after, was in zip(_batch_figures(), before, strict=True))
    assert pings == 40 and batches < 40 and of_one < batches  # some batch held more than one ping


def _batch_figures() -> tuple[float, float, float]:
    """/metrics' opsportal_ping_batch_size: pings, batches, batches of one ping."""
    value = metrics.REGISTRY.get_sample_value
    return (
        value("opsportal_ping_batch_size_sum") or 0.0,
        value("opsportal_ping_batch_size_count") or 0.0,
        value("opsportal_ping_batch_size_bucket", {"le": "1.0"}) or 0.0,
    )


def test_a_dropped_writer_connection_fails_no_ping(transactional_db: Any, caplog: Any) -> None:
    """The database ends the writer's session (a restart, a failover, an idle timeout): the next
    pings are tried again on a fresh connection and stored."""
    from django.db import connection

    check = HeartbeatFactory(slug="dropped", status=ServiceStatus.UP, last_checked_at=T0)
    batcher = ping_batch.Batcher()
    try:
        first = ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=1))
        assert batcher.submit(first) == ping_store.Stored.STORED
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        second = ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=2))
        assert batcher.submit(second) == ping_store.Stored.STORED
    finally:
        batcher.stop()
    assert HeartbeatPing.objects.filter(service=check).count() == 2
    assert "1 of 1 pings failed" in caplog.text and "trying them again" in caplog.text


@pytest.mark.django_db
def test_a_ping_the_database_did_not_store_is_answered_503(client: Any, monkeypatch: Any) -> None:
    from django.db import OperationalError

    from monitoring.services import ping

    check = HeartbeatFactory(slug="db-down")
    monkeypatch.setattr(ping.ping_store, "store_batch", lambda items: [OperationalError("server closed")] * len(items))
    response = client.get(f"/ping/{check.ping_key}")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.content == b"the ping could not be stored: try again\n"  # no database detail


@hsettings(max_examples=200, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=5),
    offsets=st.lists(st.integers(min_value=0, max_value=600), max_size=40),
)
def test_the_rate_window_takes_at_most_the_limit_in_each_minute_and_every_new_minute_afresh(
    limit: int, offsets: list[int]
) -> None:
    rate, taken = ping_store.RateWindow(0, 0, limit), {}
    for offset in sorted(offsets):
        at = T0 + dt.timedelta(seconds=offset)
        minute = ping_store.window_of(at)
        before = (rate.window, rate.count)
        if not rate.take(at):
            assert taken.get(minute, 0) == limit and minute == rate.window
            assert (rate.window, rate.count) == before  # a refusal changes nothing
            continue
        taken[minute] = taken.get(minute, 0) + 1
        assert (rate.window, rate.count) == (minute, taken[minute])
    assert all(n <= limit for n in taken.values())


def test_the_writer_outlives_a_failure_outside_the_store(transactional_db: Any, monkeypatch: Any) -> None:
    """Whatever goes wrong around a batch (here the connection check raising), its pings are
    answered at once with an error (503), not after the 10 s wait, and the next ping is stored."""
    check = HeartbeatFactory(slug="outlives", status=ServiceStatus.UP, last_checked_at=T0)
    calls = {"n": 0}

    def failing_once() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("unexpected")

    monkeypatch.setattr(ping_batch, "close_old_connections", failing_once)
    monkeypatch.setattr(ping_batch, "CONNECTION_CHECK_SECONDS", -1.0)  # check before every batch
    batcher = ping_batch.Batcher()
    try:
        first = ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=1))
        result = batcher.submit(first, timeout=5)
        assert isinstance(result, DatabaseError) and str(result) == "RuntimeError"
        second = ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=2))
        assert batcher.submit(second, timeout=5) == ping_store.Stored.STORED
    finally:
        batcher.stop()
    assert HeartbeatPing.objects.filter(service=check).count() == 1


def test_a_dead_writer_thread_is_started_again(transactional_db: Any) -> None:
    check = HeartbeatFactory(slug="restarted", status=ServiceStatus.UP, last_checked_at=T0)
    batcher = ping_batch.Batcher()
    try:
        first = ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=1))
        assert batcher.submit(first) == ping_store.Stored.STORED
        dead = batcher._thread
        batcher._queue.put(None)  # the thread ends as if it had died, and is still registered
        dead.join(timeout=5)
        assert not dead.is_alive() and batcher._thread is dead
        second = ping_store.Pinged(check.ping_key, Ping(PingKind.SUCCESS), T0 + dt.timedelta(minutes=2))
        assert batcher.submit(second, timeout=5) == ping_store.Stored.STORED
        assert batcher._thread is not dead
    finally:
        batcher.stop()
    assert HeartbeatPing.objects.filter(service=check).count() == 2
