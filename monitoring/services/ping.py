"""The ping endpoint of heartbeat checks: ``/ping/<uuid>`` and its ``/start``, ``/fail`` and
``/<exit-status>`` forms, for cron jobs and scripts (``curl -fsS -m 10 --retry 5 URL``).

Cheap on purpose: no sign-in, no session, no template; one indexed read by key and one write
(``ping_store``), for all the pings that arrive together (``ping_batch``, a group commit); the
rate limit is counted on the check's row in the same write. An unknown key answers 404 after the same
lookup a known one takes. :func:`answer` is the whole endpoint; it is reached two ways with the
same result: the WSGI fast path (``handle``, registered with ``opsportal.fastpath``, ahead of
Django's middleware) in production, and the Django views below (the test client, ``runserver``,
and any request the fast path hands on).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from monitoring.services import ping_batch, ping_store
from monitoring.services.choices import PingKind
from monitoring.services.heartbeats import BODY_LIMIT, Ping, clean_body
from opsportal.access import public_view
from opsportal.apidoc import STR, Answer, View, describe, tag
from opsportal.fastpath import Environ, Reply, text

log = logging.getLogger(__name__)
METHODS = ("GET", "HEAD", "POST")
# The same paths the URLconf routes (Django's uuid and int converters).
PATH = re.compile(
    r"^/ping/(?P<key>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"(?:/(?P<suffix>start|fail|[0-9]+))?$"
)


REPLIES = {
    ping_store.Stored.STORED: text(200, "OK"),
    ping_store.Stored.STORED_PAUSED: text(200, "OK (the check is paused: ping stored, not alerted)"),
    ping_store.Stored.UNKNOWN: text(404, "not found"),
    ping_store.Stored.LIMITED: text(
        429, "rate limited: too many pings for this check", **{"Retry-After": str(ping_store.WINDOW_SECONDS)}
    ),
}
NOT_STORED = text(503, "the ping could not be stored: try again", **{"Retry-After": "5"})


def answer(
    method: str,
    key: uuid.UUID,
    suffix: str | None,
    *,
    read_body: Callable[[], bytes],
    remote_addr: str = "",
    user_agent: str = "",
    batched: bool = False,
) -> Reply:
    """The answer to one ping request; stores the ping when the key is a heartbeat check's.
    ``batched``: handed to this process's writer thread (``ping_batch``) and stored with the
    pings of other requests; otherwise stored in this thread, on its connection."""
    if method not in METHODS:
        return text(405, "use GET, HEAD or POST", Allow=", ".join(METHODS))
    kind, exit_status = PingKind.SUCCESS, None
    if suffix == "start":
        kind = PingKind.START
    elif suffix == "fail":
        kind = PingKind.FAIL
    elif suffix is not None:
        exit_status = int(suffix)
        if exit_status > 255:
            return text(400, "exit status: a number from 0 to 255")
        kind = PingKind.SUCCESS if exit_status == 0 else PingKind.FAIL
    body = clean_body(read_body()) if method == "POST" else ""
    clean = {"remote_addr": remote_addr.replace("\x00", ""), "user_agent": user_agent.replace("\x00", "")}
    item = ping_store.Pinged(key, Ping(kind, exit_status, method, body=body, **clean), timezone.now())
    try:
        stored = ping_batch.submit(item) if batched else ping_store.store_batch([item])[0]
    except TimeoutError:
        log.warning("a ping was not stored within %s s", ping_batch.WAIT_SECONDS)
        return NOT_STORED
    if isinstance(stored, DatabaseError):
        return NOT_STORED
    return REPLIES[stored]


def _read_wsgi_body(environ: Environ) -> bytes:
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if stream is None or (length <= 0 and not chunked):
        return b""
    return stream.read(min(length, BODY_LIMIT) if length > 0 else BODY_LIMIT)


def handle(environ: Environ) -> Reply | None:
    """The WSGI fast path; ``None`` (Django answers) for a path the URLconf would not route here."""
    match = PATH.match(environ.get("PATH_INFO", ""))
    if match is None:
        return None
    return answer(
        environ.get("REQUEST_METHOD", "GET"),
        uuid.UUID(match["key"]),
        match["suffix"],
        read_body=lambda: _read_wsgi_body(environ),
        remote_addr=environ.get("REMOTE_ADDR", ""),
        user_agent=environ.get("HTTP_USER_AGENT", ""),
        batched=True,
    )


def _ping(request: HttpRequest, key: uuid.UUID, suffix: str | None) -> HttpResponse:
    reply = answer(
        request.method or "GET",
        key,
        suffix,
        read_body=lambda: request.read(BODY_LIMIT),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    response = HttpResponse(reply.body, status=reply.status, content_type="text/plain; charset=utf-8")
    for name, value in reply.headers.items():
        response[name] = value
    return response


PUBLIC_REASON = "cron jobs ping without signing in; the unguessable key in the URL is the credential"
HEARTBEATS = tag(
    "Heartbeats", "Pings of heartbeat checks from cron jobs and scripts; the key in the URL is the credential."
)


def _text_answer(what: str) -> Answer:
    return Answer(what, STR, content_type="text/plain")


def _described(summary: str, more: str = "") -> Callable[[View], View]:
    """GET and POST (a POST's body, up to 10 kB, is kept with the ping) of one ping form."""
    answers = {
        200: _text_answer("OK: the ping was recorded."),
        404: Answer(
            "No heartbeat check has that key (text), or the path is not a ping URL (the portal's not-found page).",
            STR,
            content_type="text/plain",
            content={"text/html": STR},
        ),
        429: Answer(
            "More than PING_RATE_LIMIT pings this minute for this check.",
            STR,
            content_type="text/plain",
            headers={"Retry-After": "Seconds to wait."},
        ),
        503: Answer(
            "The database did not store the ping (down, or too slow): nothing was recorded; try again.",
            STR,
            content_type="text/plain",
            headers={"Retry-After": "Seconds to wait."},
        ),
        **({400: _text_answer(more)} if more else {}),
    }

    def decorator(view: View) -> View:
        for method in ("POST", "GET"):
            view = describe(method, summary, tag=HEARTBEATS, answers=answers)(view)
        return view

    return decorator


@_described("Ping: the job ran")
@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_success(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    return _ping(request, key, None)


@_described("Ping: the job started (measures its duration)")
@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_start(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    return _ping(request, key, "start")


@_described("Ping: the job failed")
@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_fail(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    return _ping(request, key, "fail")


@_described("Ping with the job's exit status (0 succeeded, other failed)", "The exit status is over 255.")
@csrf_exempt
@public_view(PUBLIC_REASON)
def ping_exit_status(request: HttpRequest, key: uuid.UUID, status: int) -> HttpResponse:
    return _ping(request, key, str(status))
