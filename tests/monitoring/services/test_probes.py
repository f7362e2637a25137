"""Probes against real misbehaving servers on loopback: every failure gives a clear reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from monitoring.services.choices import CheckType
from monitoring.services.probes import ProbeSpec, sweep
from tests.monitoring.services.http_targets import self_signed_context, serve


@pytest.fixture(scope="module")
def target() -> Any:
    with serve() as server:
        yield server


def one(spec: ProbeSpec) -> Any:
    (result,) = sweep([spec])
    return result


def http(url: str, **kw: Any) -> ProbeSpec:
    return ProbeSpec(1, url=url, timeout=kw.pop("timeout", 3.0), **kw)


def test_healthy_json_passes_with_status_and_latency(target: Any) -> None:
    result = one(http(target.url("/health"), expect_json_path="status", expect_json_value="healthy"))
    assert result.ok and not result.degraded and result.status_code == 200 and result.error == ""
    assert result.latency_ms is not None and result.latency_ms > 0


@pytest.mark.parametrize(
    ("path", "extra", "reason"),
    [
        (
            "/unhealthy",
            {"expect_json_path": "status", "expect_json_value": "healthy"},
            "JSON status is 'unhealthy', expected 'healthy'",
        ),
        (
            "/health",
            {"expect_json_path": "checks.db.ok", "expect_json_value": "false"},
            "JSON checks.db.ok is 'true', expected 'false'",
        ),
        ("/health", {"expect_json_path": "checks.cache"}, "JSON has no 'checks.cache'"),
        (
            "/bad-json",
            {"expect_json_path": "status"},
            "response is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 22)",
        ),
        ("/ok", {"expect_text": "goodbye"}, "expected text 'goodbye' not found in the body"),
        ("/status/500", {}, "HTTP 500, expected 200-299"),
        ("/loop", {}, "redirect loop: /loop leads back to /loop"),
        ("/loop-a", {}, "redirect loop: /loop-b leads back to /loop-a"),
        ("/chain/9", {"max_redirects": 3}, "more than 3 redirects"),
        ("/redirect-ftp", {}, "redirect to a ftp URL refused"),
        ("/huge?mb=100&length=1", {}, "body larger than the 1 MiB read limit; stopped reading"),
    ],
)
def test_bad_answers_fail_with_a_clear_reason(target: Any, path: str, extra: dict[str, Any], reason: str) -> None:
    result = one(http(target.url(path), **extra))
    assert not result.ok
    assert result.error == reason


def test_json_path_walks_lists_and_compares_text_forms(target: Any) -> None:
    assert one(http(target.url("/health"), expect_json_path="agents.0.status", expect_json_value="idle")).ok
    assert one(http(target.url("/health"), expect_json_path="checks.db.ok", expect_json_value="true")).ok


def test_a_redirect_chain_within_the_limit_is_followed(target: Any) -> None:
    result = one(http(target.url("/chain/2"), expect_json_path="status", expect_json_value="healthy"))
    assert result.ok and result.status_code == 200


def test_a_100_mb_body_without_length_is_cut_at_the_read_limit(target: Any) -> None:
    before = target.bytes_sent
    result = one(http(target.url("/huge?mb=100"), body_limit=1_048_576))
    assert not result.ok
    assert result.error == "body larger than the 1 MiB read limit; stopped reading"
    assert target.bytes_sent - before < 40 * 1024 * 1024  # the sender stalled once we stopped reading


def test_hanging_and_trickling_targets_time_out_without_delaying_the_others(target: Any) -> None:
    specs = [http(target.url("/hang"), timeout=1.0), http(target.url("/trickle"), timeout=1.0)]
    specs += [ProbeSpec(i, url=target.url("/health"), timeout=1.0) for i in range(10, 30)]
    results = sweep(specs, concurrency=3)  # default deadline: longest timeout + 1 s
    hang, trickle, *fast = results
    assert hang.error == trickle.error == "timed out after 1 s without a complete answer"
    # With three slots and two of them stuck, all 20 fast probes still ran inside the deadline.
    assert all(r.ok and not r.skipped for r in fast)


def test_the_sweep_deadline_skips_what_could_not_start() -> None:
    with serve() as server:
        specs = [ProbeSpec(i, url=server.url("/hang"), timeout=5.0) for i in range(3)]
        results = sweep(specs, concurrency=1, deadline=0.5)
    assert results[0].skipped is True and results[0].error == "sweep deadline reached"
    assert all(r.skipped for r in results)


def test_at_the_dispatchers_deadline_a_probe_in_flight_finishes_and_none_is_sent_twice(target: Any) -> None:
    specs = [
        ProbeSpec(1, url=target.url("/hang"), timeout=2.0),
        ProbeSpec(2, url=target.url("/slow?s=1.2"), timeout=2.0),  # starts at 2 s, answers after the 3 s deadline
        ProbeSpec(3, url=target.url("/health"), timeout=2.0),
    ]
    before = len(target.requests)
    hang, slow, fast = sweep(specs, concurrency=1)  # the default deadline: longest timeout + 1 s
    assert hang.error == "timed out after 2 s without a complete answer"
    assert slow.ok and not slow.skipped  # cut short, its request would be sent again by the next pass
    assert fast.skipped and fast.error == "sweep deadline reached"  # never sent: due again at once
    assert [p for _m, p, _h in target.requests[before:]] == ["/hang", "/slow"]


def test_slow_answer_is_degraded_not_failed(target: Any) -> None:
    result = one(http(target.url("/slow?s=0.3"), degraded_ms=100))
    assert result.ok and result.degraded


def test_connection_refused_is_reported(target: Any) -> None:
    assert one(http("http://127.0.0.1:9/health")).error == "connection refused"


def test_secret_headers_are_sent_to_the_origin_only_and_never_shown(target: Any) -> None:
    class FakeService:
        pk = 1
        check_type = CheckType.HTTP
        url = target.url("/need-token")
        method = "GET"
        headers = {"X-Trace": "probe"}
        secret_headers = {"Authorization": "HEALTH_TOKEN"}
        accepted_statuses = "200"
        expect_json_path = "status"
        expect_json_value = "healthy"
        expect_text = ""
        degraded_latency_ms = 2000
        timeout_seconds = 3.0
        body_limit_bytes = 1_048_576
        max_redirects = 5
        verify_tls = True
        host = ""
        port = None
        dsn_env = ""
        last_ok = None
        last_error = ""
        last_latency_ms = None

    spec = ProbeSpec.from_service(FakeService, environ={"HEALTH_TOKEN": "Bearer s3cret-value"})
    assert "s3cret" not in repr(spec)
    assert one(spec).ok
    missing = one(ProbeSpec.from_service(FakeService, environ={}))
    assert missing.error == "environment variable not set: HEALTH_TOKEN"
    assert "s3cret" not in missing.error
    # A value read with its line end (a CRLF .env file, a secret file) is sent without it.
    assert one(ProbeSpec.from_service(FakeService, environ={"HEALTH_TOKEN": "Bearer s3cret-value\r\n"})).ok
    # A value that cannot be a header value fails naming the variable: httpx would have echoed it.
    for bad in ("Bearer s3cret\nX-Injected: 1", "Bearer s3cret\x00", "Bearer s3cr\u00e9t"):
        outcome = one(ProbeSpec.from_service(FakeService, environ={"HEALTH_TOKEN": bad}))
        assert not outcome.ok
        assert outcome.error == (
            "environment variable holds control or non-ASCII characters, not a header value: HEALTH_TOKEN"
        )


def test_secret_header_is_not_forwarded_to_another_origin_on_redirect() -> None:
    with serve() as first, serve() as second:
        from tests.monitoring.services.http_targets import TargetHandler

        class Redirecting(TargetHandler):
            def do_GET(self) -> None:
                self._send(302, b"", "text/plain", Location=second.url("/echo-headers"))

        first.RequestHandlerClass = Redirecting
        spec = http(first.url("/start"), secret_headers={"Authorization": "Bearer s3cret-value"})
        assert one(spec).ok
        _method, path, headers = second.requests[-1]
        assert path == "/echo-headers"
        assert "Authorization" not in headers


def test_tls_self_signed_certificate_is_rejected_with_verification_and_read_without(tmp_path: Path) -> None:
    ctx, not_after = self_signed_context(tmp_path)
    with serve(tls=ctx) as server:
        verified = one(http(server.url("/health")))
        unverified = one(http(server.url("/health"), verify_tls=False))
    assert not verified.ok and verified.error == "TLS certificate rejected: self-signed certificate"
    assert unverified.ok
    assert unverified.cert_expires_at == not_after
    assert verified.cert_expires_at == not_after  # read with a second, unverified handshake


def test_an_expired_certificate_fails_with_its_date(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    ctx, not_after = self_signed_context(
        tmp_path, not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=2)
    )
    with serve(tls=ctx) as server:
        unverified = one(http(server.url("/health"), verify_tls=False))
        verified = one(http(server.url("/health")))
    assert not unverified.ok and unverified.error == f"TLS certificate expired on {not_after:%Y-%m-%d}"
    assert verified.error.startswith(f"TLS certificate expired on {not_after:%Y-%m-%d} (TLS certificate rejected:")


def test_tcp_connect(target: Any) -> None:
    ok = one(ProbeSpec(1, check_type=CheckType.TCP, host="127.0.0.1", port=target.server_address[1], timeout=2))
    refused = one(ProbeSpec(1, check_type=CheckType.TCP, host="127.0.0.1", port=9, timeout=2))
    assert ok.ok and ok.latency_ms is not None
    assert not refused.ok and refused.error == "connection refused"


@pytest.mark.django_db
def test_postgres_select_1_and_a_failure_that_does_not_show_the_password() -> None:
    from django.db import connection

    s = connection.settings_dict
    good = f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    assert one(ProbeSpec(1, check_type=CheckType.POSTGRES, dsn=good, dsn_env="X", timeout=5)).ok
    bad = "postgresql://postgres:hunter2-secret@127.0.0.1:9/postgres"
    failed = one(ProbeSpec(1, check_type=CheckType.POSTGRES, dsn=bad, dsn_env="X", timeout=5))
    assert not failed.ok and failed.error.startswith("PostgreSQL: ")
    assert "hunter2" not in failed.error
    # libpq quotes the part of a connection string it cannot parse: here, the password.
    for unparsable in ("postgresql://bob:hunter2%ZZ@127.0.0.1:5432/db", "postgresql://bob:hunter2%00@127.0.0.1/db"):
        failed = one(ProbeSpec(1, check_type=CheckType.POSTGRES, dsn=unparsable, dsn_env="ORDERS_DSN", timeout=5))
        assert failed.error == "PostgreSQL: ORDERS_DSN does not hold a valid connection string"


def test_compressed_bodies_are_decoded_within_the_limit() -> None:
    import gzip

    from monitoring.services.probe_body import ProbeFailed, decode_body

    assert decode_body(gzip.compress(b'{"status": "healthy"}'), "gzip", 1024) == b'{"status": "healthy"}'
    bomb = gzip.compress(b"\0" * 20_000_000)  # 20 MB of zeros in about 20 kB
    with pytest.raises(ProbeFailed, match="decompressed body larger than the 1 MiB read limit"):
        decode_body(bomb, "gzip", 1_048_576)
    with pytest.raises(ProbeFailed, match="unsupported content encoding 'br'"):
        decode_body(b"...", "br", 1024)
