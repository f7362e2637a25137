"""The probe engine: one asyncio sweep checks many services concurrently (HTTP(S), TCP, PostgreSQL).

A sweep runs a bounded pool of worker coroutines over a queue of ProbeSpecs. Every probe has
its own deadline (the service's timeout, covering connect, redirects and the whole body), and
the sweep has an overall deadline, so a target that hangs or trickles bytes never holds up
the others. Probes that are expected to be slow (last one timed out) start first.

Specs are plain data built from Service rows; nothing here touches the database, so the
engine can be benchmarked and tested on its own. Secret header values and connection URLs
are read from the environment when the spec is built and never appear in a repr or message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import errno
import logging
import os
import ssl
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import httpx

from monitoring.services import conf
from monitoring.services.choices import CheckType, ServiceKind
from monitoring.services.probe_body import (
    ProbeFailed,
    accepted_text,
    check_body,
    check_html_type,
    decode_body,
    read_limited,
    status_accepted,
)
from opsportal import netguard
from opsportal.formatting import human_bytes
from opsportal.redact import excerpt

log = logging.getLogger(__name__)
# httpx logs every request at INFO: a sweep of thousands of probes would flood the worker's log
# (and spend its CPU on it). Probe outcomes are recorded as results instead.
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "OpsPortal-probe/1.0"
SWEEP_GRACE_SECONDS = 1.0


@dataclass(frozen=True, eq=False)
class ProbeSpec:
    """What to check and how, for one service; built right before the sweep."""

    service_id: int
    check_type: str = CheckType.HTTP
    url: str = ""
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secret_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    missing_env: tuple[str, ...] = ()
    invalid_env: tuple[str, ...] = ()  # variables whose value cannot be sent as a header value
    accepted: tuple[tuple[int, int], ...] = ((200, 299),)
    expect_json_path: str = ""
    expect_json_value: str = ""
    expect_text: str = ""
    # A frontend check means HTML (the runbook's "200 OK with HTML content"): text/html and an HTML body.
    expect_html: bool = False
    degraded_ms: float = 2000.0
    timeout: float = 10.0
    body_limit: int = 1_048_576
    max_redirects: int = 5
    verify_tls: bool = True
    host: str = ""
    port: int | None = None
    dsn: str = field(default="", repr=False)
    dsn_env: str = ""
    priority: float = 0.0  # expected seconds; larger starts first

    @classmethod
    def from_service(cls, service: Any, environ: Mapping[str, str] | None = None) -> ProbeSpec:
        """Build a spec from a Service row, reading secret values from the environment now."""
        env = os.environ if environ is None else environ
        secrets: dict[str, str] = {}
        missing: list[str] = []
        invalid: list[str] = []
        for header, var in (service.secret_headers or {}).items():
            # Surrounding whitespace (a CRLF .env file, a secret file's final newline) is no part of a value.
            value = env.get(var, "").strip()
            if not value:
                missing.append(var)
            elif not _header_value_ok(value):
                invalid.append(var)  # refused here: httpx would echo the value in its error text
            else:
                secrets[header] = value
        dsn = ""
        if service.check_type == CheckType.POSTGRES and service.dsn_env:
            dsn = env.get(service.dsn_env, "")
            if not dsn:
                missing.append(service.dsn_env)
        timed_out = service.last_ok is False and "timed out" in (service.last_error or "")
        priority = float(service.timeout_seconds) if timed_out else (service.last_latency_ms or 0.0) / 1000.0
        return cls(
            service_id=service.pk,
            check_type=service.check_type,
            url=service.url,
            method=service.method,
            headers=dict(service.headers or {}),
            secret_headers=secrets,
            missing_env=tuple(missing),
            invalid_env=tuple(invalid),
            accepted=accepted_statuses(service.accepted_statuses or "200-299"),
            expect_json_path=service.expect_json_path,
            expect_json_value=service.expect_json_value,
            expect_text=service.expect_text,
            expect_html=getattr(service, "kind", "") == ServiceKind.FRONTEND,
            degraded_ms=float(service.degraded_latency_ms),
            timeout=float(service.timeout_seconds),
            body_limit=int(service.body_limit_bytes),
            max_redirects=int(service.max_redirects),
            verify_tls=service.verify_tls,
            host=service.host,
            port=service.port,
            dsn=dsn,
            dsn_env=service.dsn_env,
            priority=priority,
        )


def _header_value_ok(value: str) -> bool:
    """Whether ``value`` can be sent as an HTTP header value: visible ASCII, spaces and tabs only."""
    return all(" " <= ch <= "~" or ch == "\t" for ch in value)


@dataclass
class ProbeOutcome:
    """What one probe found. ``skipped`` means the sweep ended before the probe could run."""

    service_id: int
    checked_at: dt.datetime
    ok: bool
    latency_ms: float | None = None
    status_code: int | None = None
    error: str = ""
    degraded: bool = False
    cert_expires_at: dt.datetime | None = None
    skipped: bool = False

    def summary(self) -> str:
        if self.skipped:
            return "skipped"
        state = "failed" if not self.ok else ("slow" if self.degraded else "ok")
        parts = [state]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.latency_ms is not None:
            parts.append(f"{self.latency_ms:.0f} ms")
        if self.error:
            parts.append(self.error)
        return ", ".join(parts)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@lru_cache(maxsize=256)
def accepted_statuses(value: str) -> tuple[tuple[int, int], ...]:
    """The accepted status ranges of a service's setting, parsed once per distinct value (a sweep
    of 10,000 services has a handful of distinct ones)."""
    from monitoring.services.validators import parse_status_codes

    return tuple(parse_status_codes(value))


# TLS contexts are built once per process: loading the CA bundle costs milliseconds.
@cache
def tls_context(verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _cert_expiry_from_der(der: bytes | None) -> dt.datetime | None:
    if not der:
        return None
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


def _peer_cert_expiry(response: httpx.Response) -> dt.datetime | None:
    """notAfter of the certificate the server presented on this response's connection."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    return _cert_expiry_from_der(ssl_object.getpeercert(binary_form=True))


async def _fetch_cert_expiry(host: str, port: int, timeout: float) -> dt.datetime | None:
    """Read a certificate that failed verification, so its expiry is still known."""
    try:
        async with asyncio.timeout(max(0.2, timeout)):
            (address, *_rest) = await netguard.resolve_checked_async(host, port)
            _reader, writer = await asyncio.open_connection(
                address, port, ssl=tls_context(False), server_hostname=host or None
            )
            try:
                ssl_object = writer.get_extra_info("ssl_object")
                return _cert_expiry_from_der(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
            finally:
                writer.close()
    except (OSError, TimeoutError, ssl.SSLError):
        return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_error(exc: BaseException) -> str:
    """A short, secret-free reason for a failed connection or request."""
    denied = netguard.denied_reason(exc)
    if denied:
        return denied
    for inner in _chain(exc):
        if isinstance(inner, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {inner.verify_message or inner.reason}"
        if isinstance(inner, ssl.SSLError):
            return f"TLS handshake failed: {inner.reason or inner.__class__.__name__}"
    for inner in _chain(exc):
        if isinstance(inner, ConnectionRefusedError) or getattr(inner, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(inner, OSError) and inner.errno in (-2, -3, -5):  # EAI_NONAME, EAI_AGAIN, EAI_NODATA
            return "host name not found"
        if isinstance(inner, ConnectionResetError):
            return "connection reset by the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "without sending" in text or "disconnected" in text.lower():
            return "server closed the connection without a response"
        return f"invalid HTTP response: {excerpt(text, 150)}"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.HTTPError | OSError):
        text = str(exc) or exc.__class__.__name__
        return f"{exc.__class__.__name__}: {excerpt(text, 150)}"
    return f"unexpected {exc.__class__.__name__}"


# HTTP ------------------------------------------------------------------------------------


def _redirect_target(url: httpx.URL, location: str) -> httpx.URL:
    try:
        target = url.join(location)
    except (httpx.InvalidURL, ValueError):
        raise ProbeFailed(f"redirect to an invalid URL {excerpt(location)!r}") from None
    if target.scheme not in ("http", "https"):
        raise ProbeFailed(f"redirect to a {target.scheme or 'schemeless'} URL refused")
    if target.userinfo:
        raise ProbeFailed("redirect to a URL with credentials refused")
    return target


class ClientPool:
    """The httpx clients of one sweep worker: one per TLS mode, each with a small connection pool.

    A client per worker keeps httpcore's pool bookkeeping small (its cost grows with the
    number of connections in one pool), and the TLS contexts are shared by all of them.
    """

    def __init__(self) -> None:
        self._clients: dict[bool, httpx.AsyncClient] = {}

    def get(self, verify: bool) -> httpx.AsyncClient:
        if verify not in self._clients:
            limits = httpx.Limits(max_connections=2, max_keepalive_connections=1, keepalive_expiry=5.0)
            self._clients[verify] = httpx.AsyncClient(
                # Every connection (each redirect hop too) resolves once, checks each address against
                # the deny list and connects to the checked address: no DNS rebinding, no metadata.
                transport=netguard.GuardedTransport(verify=tls_context(verify), limits=limits),
                trust_env=False,  # no proxies or .netrc credentials picked up from the environment
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._clients[verify]

    async def aclose(self) -> None:
        for client in self._clients.values():
            try:
                await client.aclose()
            except Exception:
                log.debug("closing probe client failed", exc_info=True)
        self._clients.clear()


async def probe_http(spec: ProbeSpec, pool: ClientPool) -> ProbeOutcome:
    client = pool.get(spec.verify_tls)
    checked_at = _now()
    started = time.perf_counter()
    url = httpx.URL(spec.url)
    origin = (url.scheme, url.host, url.port)
    method = spec.method
    visited = {str(url)}
    cert_expires: dt.datetime | None = None
    status_code: int | None = None
    body = b""
    try:
        for hop in range(spec.max_redirects + 1):
            headers = {**spec.headers, "Accept-Encoding": "identity"}
            if (url.scheme, url.host, url.port) == origin:
                headers.update(spec.secret_headers)  # never sent to another origin after a redirect
            request = client.build_request(method, url, headers=headers, timeout=httpx.Timeout(spec.timeout))
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                reason = describe_error(exc)
                if reason.startswith("TLS certificate") and url.scheme == "https":
                    cert_expires = cert_expires or await _fetch_cert_expiry(
                        url.host, url.port or 443, min(2.0, spec.timeout)
                    )
                    if cert_expires is not None and cert_expires <= checked_at:
                        reason = f"TLS certificate expired on {cert_expires:%Y-%m-%d} ({reason})"
                raise ProbeFailed(reason) from None
            try:
                status_code = response.status_code
                if url.scheme == "https" and cert_expires is None:
                    cert_expires = _peer_cert_expiry(response)
                if response.is_redirect:
                    if hop == spec.max_redirects:
                        raise ProbeFailed(f"more than {spec.max_redirects} redirects", status_code)
                    target = _redirect_target(url, response.headers["location"])
                    if str(target) in visited:
                        raise ProbeFailed(f"redirect loop: {url.path} leads back to {target.path}", status_code)
                    visited.add(str(target))
                    if status_code == 303 or (status_code in (301, 302) and method == "POST"):
                        method = "GET"
                    url = target
                    continue
                if not status_accepted(status_code, spec.accepted):
                    raise ProbeFailed(f"HTTP {status_code}, expected {accepted_text(spec.accepted)}", status_code)
                if method != "HEAD":
                    raw, truncated = await read_limited(response, spec.body_limit)
                    if truncated:
                        raise ProbeFailed(
                            f"body larger than the {human_bytes(spec.body_limit)} read limit; stopped reading",
                            status_code,
                        )
                    body = raw
                    if spec.expect_html:
                        check_html_type(response.headers.get("content-type", ""), status_code)
                    if spec.expect_text or spec.expect_json_path or spec.expect_html:
                        body = decode_body(raw, response.headers.get("content-encoding", ""), spec.body_limit)
            finally:
                await response.aclose()
            break
        latency_ms = (time.perf_counter() - started) * 1000.0
        if cert_expires is not None and cert_expires <= checked_at:
            raise ProbeFailed(f"TLS certificate expired on {cert_expires:%Y-%m-%d}", status_code)
        check_body(
            body,
            expect_text=spec.expect_text,
            json_path=spec.expect_json_path,
            json_value=spec.expect_json_value,
            expect_html=spec.expect_html and method != "HEAD",
        )
    except ProbeFailed as failed:
        return ProbeOutcome(
            spec.service_id,
            checked_at,
            ok=False,
            latency_ms=round((time.perf_counter() - started) * 1000.0, 2),
            status_code=failed.status_code if failed.status_code is not None else status_code,
            error=failed.message[:300],
            cert_expires_at=cert_expires,
        )
    except httpx.HTTPError as exc:  # errors while reading the body
        return ProbeOutcome(
            spec.service_id,
            checked_at,
            ok=False,
            latency_ms=round((time.perf_counter() - started) * 1000.0, 2),
            status_code=status_code,
            error=describe_error(exc),
            cert_expires_at=cert_expires,
        )
    return ProbeOutcome(
        spec.service_id,
        checked_at,
        ok=True,
        latency_ms=round(latency_ms, 2),
        status_code=status_code,
        degraded=latency_ms > spec.degraded_ms,
        cert_expires_at=cert_expires,
    )


# TCP and PostgreSQL ------------------------------------------------------------------------


async def probe_tcp(spec: ProbeSpec) -> ProbeOutcome:
    checked_at = _now()
    started = time.perf_counter()
    try:
        _reader, writer = await netguard.open_checked(spec.host, int(spec.port or 0))
    except OSError as exc:
        return ProbeOutcome(spec.service_id, checked_at, ok=False, error=describe_error(exc))
    latency_ms = (time.perf_counter() - started) * 1000.0
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeOutcome(
        spec.service_id, checked_at, ok=True, latency_ms=round(latency_ms, 2), degraded=latency_ms > spec.degraded_ms
    )


def _postgres_reason(exc: BaseException, dsn: str, dsn_env: str) -> str:
    """First line of a psycopg error, with the connection URL and password taken out."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # noqa: BLE001 - libpq's parse errors quote the offending part, which may be the password
        return f"PostgreSQL: {dsn_env or 'the environment variable'} does not hold a valid connection string"
    denied = netguard.denied_reason(exc)
    if denied:
        return f"PostgreSQL: {denied}"
    text = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    secrets = [dsn, str(password or "")]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return f"PostgreSQL: {text[:250]}"


async def probe_postgres(spec: ProbeSpec) -> ProbeOutcome:
    import psycopg

    checked_at = _now()
    started = time.perf_counter()
    try:
        dsn = await netguard.pin_postgres_dsn(spec.dsn)
        conn = await psycopg.AsyncConnection.connect(dsn, connect_timeout=max(1, int(spec.timeout)), autocommit=True)
        try:
            cursor = await conn.execute("SELECT 1")
            row = await cursor.fetchone()
        finally:
            await conn.close()
    except (psycopg.Error, OSError) as exc:
        return ProbeOutcome(spec.service_id, checked_at, ok=False, error=_postgres_reason(exc, spec.dsn, spec.dsn_env))
    latency_ms = (time.perf_counter() - started) * 1000.0
    if row != (1,):
        return ProbeOutcome(spec.service_id, checked_at, ok=False, error="PostgreSQL: SELECT 1 did not return 1")
    return ProbeOutcome(
        spec.service_id, checked_at, ok=True, latency_ms=round(latency_ms, 2), degraded=latency_ms > spec.degraded_ms
    )


# One probe and the sweep --------------------------------------------------------------------


async def probe_one(spec: ProbeSpec, pool: ClientPool) -> ProbeOutcome:
    """Run one probe within its own deadline; never raises (except on cancellation)."""
    checked_at = _now()
    if spec.missing_env:
        names = ", ".join(sorted(set(spec.missing_env)))
        return ProbeOutcome(spec.service_id, checked_at, ok=False, error=f"environment variable not set: {names}")
    if spec.invalid_env:
        names = ", ".join(sorted(set(spec.invalid_env)))
        return ProbeOutcome(
            spec.service_id,
            checked_at,
            ok=False,
            error=f"environment variable holds control or non-ASCII characters, not a header value: {names}",
        )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(spec.timeout):
            if spec.check_type == CheckType.TCP:
                return await probe_tcp(spec)
            if spec.check_type == CheckType.POSTGRES:
                return await probe_postgres(spec)
            return await probe_http(spec, pool)
    except TimeoutError:
        elapsed = (time.perf_counter() - started) * 1000.0
        return ProbeOutcome(
            spec.service_id,
            checked_at,
            ok=False,
            latency_ms=round(elapsed, 2),
            error=f"timed out after {spec.timeout:g} s without a complete answer",
        )
    except Exception as exc:
        log.exception("probe of service %s crashed", spec.service_id)
        return ProbeOutcome(spec.service_id, checked_at, ok=False, error=f"probe failed: {exc.__class__.__name__}")


def sweep_deadline(specs: Sequence[ProbeSpec]) -> float:
    """The default overall deadline: the longest per-probe timeout plus a grace second."""
    return max((s.timeout for s in specs), default=0.0) + SWEEP_GRACE_SECONDS


async def sweep_async(
    specs: Sequence[ProbeSpec], *, concurrency: int | None = None, deadline: float | None = None
) -> list[ProbeOutcome]:
    """Probe every spec with at most ``concurrency`` probes in flight; results in input order.

    When the deadline passes, probes not started yet are *skipped*. Under the default deadline (the
    dispatcher's) those in flight finish within their own timeout; under an explicit one ("probe
    now" answering a page) they are cut short too and skipped unless their timeout had run out."""
    if not specs:
        return []
    limit = max(1, concurrency or default_concurrency())
    total_deadline = sweep_deadline(specs) if deadline is None else deadline
    loop = asyncio.get_running_loop()
    tls_context(True), tls_context(False)  # built once, before any probe's clock starts
    queue = deque(sorted(range(len(specs)), key=lambda i: -specs[i].priority))
    results: list[ProbeOutcome | None] = [None] * len(specs)
    in_flight: dict[int, float] = {}

    async def worker() -> None:
        pool = ClientPool()
        try:
            while queue:
                index = queue.popleft()
                in_flight[index] = loop.time()
                results[index] = await probe_one(specs[index], pool)
                del in_flight[index]
        finally:
            await pool.aclose()

    tasks = [asyncio.create_task(worker()) for _ in range(min(limit, len(specs)))]
    _done, pending = await asyncio.wait(tasks, timeout=total_deadline)
    if pending and deadline is None:
        # The dispatcher's own deadline: what has not started is skipped (due again at once), but a
        # probe already sent runs to its own timeout; cut short, its request would be sent twice.
        queue.clear()
        _done, pending = await asyncio.wait(pending, timeout=max(s.timeout for s in specs) + SWEEP_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    now = loop.time()
    outcomes: list[ProbeOutcome] = []
    for index, spec in enumerate(specs):
        outcome = results[index]
        if outcome is None:
            started = in_flight.get(index)
            if started is not None and now - started >= spec.timeout:
                outcome = ProbeOutcome(
                    spec.service_id, _now(), ok=False, error=f"timed out after {spec.timeout:g} s (sweep deadline)"
                )
            else:
                outcome = ProbeOutcome(spec.service_id, _now(), ok=False, skipped=True, error="sweep deadline reached")
        outcomes.append(outcome)
    return outcomes


def default_concurrency() -> int:
    """PROBE_CONCURRENCY (usable without Django settings: bench, tests)."""
    return conf.PROBE_CONCURRENCY.get()


def sweep(
    specs: Sequence[ProbeSpec], *, concurrency: int | None = None, deadline: float | None = None
) -> list[ProbeOutcome]:
    """Run one sweep from synchronous code (a Celery task, a command, a view)."""
    coro_args = {"concurrency": concurrency, "deadline": deadline}
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(sweep_async(specs, **coro_args))
    # Called from a thread that already runs an event loop: use a fresh thread for ours.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, sweep_async(specs, **coro_args)).result()
