"""WSGI fast paths: a few hot, public, sessionless URLs answered before Django's middleware.

A cron job's ping (``/ping/<uuid>``) is the only request that arrives by the thousand and needs
none of what the middleware stack does (sessions, CSRF, sign-in, two-factor, messages, axes):
through the full stack a ping cost about 5 ms of CPU, nine tenths of it middleware. Apps
register a handler for a path prefix in their ``setup()``; :class:`FastPathApp` wraps Django's
WSGI application and gives a matching request to the handler first.

A handler returns a :class:`Reply`, or ``None`` to let Django answer (anything unusual: a
status change, a paused check, a malformed path). An exception in a handler is logged and the
request goes to Django, which answers it the slow, fully checked way. Requests still count in
the portal's request metrics (``/metrics``) under the handler's view name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from . import metrics

log = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Environ], Reply | None]
# Headers every answer of the portal carries (SecurityMiddleware and XFrameOptionsMiddleware set
# them on Django's answers).
COMMON_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]


@dataclass(frozen=True)
class Route:
    prefix: str
    view_name: str
    handler: Handler


_routes: list[Route] = []


def register(prefix: str, view_name: str, handler: Handler) -> None:
    """Answer requests whose path starts with ``prefix`` with ``handler`` (idempotent)."""
    if not any(r.prefix == prefix for r in _routes):
        _routes.append(Route(prefix, view_name, handler))


def routes() -> tuple[Route, ...]:
    return tuple(_routes)


def text(status: int, body: str, **headers: str) -> Reply:
    return Reply(status, body + "\n", headers)


ROBOTS = text(200, "User-agent: *\nDisallow: /", **{"Cache-Control": "public, max-age=86400"})


def robots(environ: Environ) -> Reply | None:
    """``/robots.txt``: an operations console is not for search engines. A constant answer, so
    it is also what ``bench/ping.py`` measures gunicorn's own ceiling with."""
    return ROBOTS if environ.get("PATH_INFO") == "/robots.txt" else None


class FastPathApp:
    """WSGI middleware: registered fast paths first, Django for everything else."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for route in _routes:
            if path.startswith(route.prefix):
                started = time.perf_counter()
                try:
                    reply = route.handler(environ)
                except Exception:  # the slow path answers; a fast path never turns a ping into a 500
                    log.exception("fast path %s failed; Django answers %s", route.view_name, path)
                    reply = None
                if reply is None:
                    break
                return self._answer(route, environ, reply, start_response, started)
        return self.app(environ, start_response)

    @staticmethod
    def _answer(
        route: Route, environ: Environ, reply: Reply, start_response: StartResponse, started: float
    ) -> Iterable[bytes]:
        payload = reply.body.encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))]
        headers += [(name, value) for name, value in COMMON_HEADERS if name not in reply.headers]
        headers += reply.headers.items()
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers)
        method = environ.get("REQUEST_METHOD", "GET")
        metrics.REQUESTS.labels(view=route.view_name, method=method, status=str(reply.status)).inc()
        metrics.REQUEST_SECONDS.labels(view=route.view_name).observe(time.perf_counter() - started)
        return [b""] if method == "HEAD" else [payload]
