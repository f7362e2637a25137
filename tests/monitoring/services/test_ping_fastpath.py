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

from monitoring.services import ping_store
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


@pytest.mark.django_db
def test_fast_path_leaves_exactly_the_rows_of_the_orm_path() -> None:
    fast = HeartbeatFactory(slug="fast", heartbeat_period_seconds=3600, heartbeat_grace_seconds=600)
    slow = HeartbeatFactory(slug="slow", heartbeat_period_seconds=3600, heartbeat_grace_seconds=600)
    statements = []
    for minutes, kind, status in SEQUENCE:
        now = T0 + dt.timedelta(minutes=minutes)
        ping = Ping(kind, status, "POST", "127.0.0.1", "curl/8", f"run at +{minutes} min")
        check = ping_store.lookup(fast.ping_key)
        statements.append(ping_store._single_statement(check, ping, now))
        if not statements[-1]:
            record_ping(Service.objects.get(pk=fast.pk), ping, now=now)
        record_ping(Service.objects.get(pk=slow.pk), ping, now=now)
    assert _state(fast)["service"] == _state(slow)["service"]
    for part in ("pings", "results", "flips"):
        assert _state(fast)[part] == _state(slow)[part], part
    # The first success (UNKNOWN -> UP), the first failure (UP -> DOWN) and the recovery flip
    # went the ORM way; the other six were one statement each.
    assert statements == [False, True, True, True, False, True, True, False, True]
    assert [f[2] for f in _state(fast)["flips"]] == [ServiceStatus.UP, ServiceStatus.DOWN, ServiceStatus.UP]


@pytest.mark.django_db
def test_the_lookup_and_the_write_are_prepared_statements_on_the_server() -> None:
    """Parsed and planned once per connection: Django turns psycopg's preparation off, and
    prepare=True alone was silently ignored (the server had no prepared statement at all)."""
    from django.db import connection

    check = HeartbeatFactory(slug="prepared", status=ServiceStatus.UP, last_checked_at=T0)
    for minutes in (1, 2):
        found = ping_store.lookup(check.ping_key)
        assert ping_store._single_statement(
            found, Ping(PingKind.SUCCESS, None, "GET", "", "", ""), T0 + dt.timedelta(minutes=minutes)
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = {row[0] for row in cursor.fetchall()}
    assert any(s.startswith("SELECT id, enabled") and "ping_key = $1" in s for s in prepared), prepared
    assert any(s.startswith("WITH u AS (UPDATE") for s in prepared), prepared
    # Django's own queries on the same connection are not prepared (only what asks for it).
    assert not any("django_" in s for s in prepared)


@pytest.mark.django_db
def test_a_lost_compare_and_set_goes_the_orm_way_and_stores_one_ping() -> None:
    service = HeartbeatFactory(slug="raced")
    ping = Ping(PingKind.SUCCESS)
    ping_store.store(ping_store.lookup(service.ping_key), ping, T0)  # UNKNOWN -> UP
    stale = ping_store.lookup(service.ping_key)
    ping_store.store(stale, ping, T0 + dt.timedelta(minutes=1))  # another process, same row
    ping_store.store(stale, ping, T0 + dt.timedelta(minutes=2))  # read before the one above landed
    fresh = Service.objects.get(pk=service.pk)
    assert HeartbeatPing.objects.filter(service=service).count() == 3
    assert CheckResult.objects.filter(service=service).count() == 3
    assert fresh.consecutive_successes == 3 and fresh.last_checked_at == T0 + dt.timedelta(minutes=2)


@pytest.mark.django_db
def test_a_paused_check_stores_the_ping_and_leaves_the_state() -> None:
    service = HeartbeatFactory(slug="paused", enabled=False)
    check = ping_store.lookup(service.ping_key)
    assert not ping_store._single_statement(check, Ping(PingKind.SUCCESS), T0)
    ping_store.store(check, Ping(PingKind.SUCCESS), T0)
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
