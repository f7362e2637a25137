"""Talking to Apprise without leaking a channel's secret, and hearing what the receiver answered.

A channel's Apprise URL carries tokens. Apprise logs the URLs it handles and urllib3 the request
path, so a log filter blanks them; ``using_url`` marks the URL a thread is handling so its pieces
are blanked too. Apprise reports only success or failure, so ``record_responses`` lets a thread
see the HTTP status and ``Retry-After`` of the requests Apprise makes for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import apprise
import requests
from django.core.exceptions import ValidationError
from django.utils import timezone

from opsportal import netguard

_in_use = threading.local()
_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,20})://\S+", re.IGNORECASE)


class _HideChannelUrls(logging.Filter):
    """Apprise logs the URLs it handles ("Unparseable URL slack://…", debug dumps of every token),
    and urllib3 the request path at debug level.

    Below ``floor`` a line is dropped; in the others any URL and every piece of the channel URL
    this thread is using are blanked, so a channel's secret never reaches a log.
    """

    def __init__(self, floor: int = logging.NOTSET, *, any_url: bool = False) -> None:
        super().__init__()
        self.floor, self.any_url = floor, any_url

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.floor:
            return False
        pieces = getattr(_in_use, "pieces", ())
        if pieces or self.any_url:
            message = _URL.sub(r"\1://…", record.getMessage()) if self.any_url else record.getMessage()
            for piece in pieces:
                message = message.replace(piece, "…")
            record.msg, record.args = message, None
        return True


logging.getLogger("apprise").addFilter(_HideChannelUrls(logging.INFO, any_url=True))
logging.getLogger("urllib3.connectionpool").addFilter(_HideChannelUrls())


@contextlib.contextmanager
def using_url(url: str) -> Iterator[None]:
    """While Apprise handles ``url`` in this thread, keep its pieces (tokens, password, path) out of logs."""
    rest = url.split("://", 1)[-1]
    pieces = {rest, *re.split(r"[/?&=@:#,]+", rest)}
    pieces |= {unquote(p) for p in pieces}
    _in_use.pieces = sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True)
    try:
        yield
    finally:
        _in_use.pieces = ()


def validate_apprise_url(url: str) -> None:
    """Refuse a URL Apprise cannot use; the message never repeats the URL."""
    if not url or any(ord(ch) < 32 for ch in url):
        raise ValidationError("Give an Apprise URL such as slack://…, ntfys://… or json://host/path.")
    with using_url(url):
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise ValidationError("Apprise does not recognise this URL; check the scheme and its parts.")
    host = target_host(url, plugin)
    if host:
        reason = netguard.check_target(host, int(getattr(plugin, "port", None) or 0))
        if reason:
            raise ValidationError(f"This channel's host is refused: {reason}.")


# Schemes whose host part is where Apprise connects (self-hosted services, webhooks). For the
# others (slack://, tgram://, …) the host part is a token and the service's own host is used;
# every connection Apprise makes is checked at connect time anyway (netguard.guarded_requests).
SELF_HOSTED = frozenset(
    "json jsons xml xmls form forms ntfy ntfys gotify gotifys mmost mmosts rocket rockets matrix matrixs "
    "apprise apprises ncloud nclouds nctalk nctalks kodi kodis xbmc xbmcs mastodon mastodons misskey misskeys "
    "gnome kumulos lametric lametrics signal signals bark barks".split()
)


def target_host(url: str, plugin: Any) -> str:
    """The host a channel URL makes Apprise connect to, when its scheme names one ('' otherwise)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SELF_HOSTED:
        return ""
    return str(getattr(plugin, "host", "") or urlsplit(url).hostname or "")


def mask_url(url: str) -> str:
    """What may be shown of an Apprise URL: scheme and (privacy-masked) host, never path or query."""
    with using_url(url):
        plugin = apprise.Apprise.instantiate(url) if url else None
    private = plugin.url(privacy=True) if plugin is not None else url
    parts = urlsplit(private)
    host = parts.netloc.rsplit("@", 1)[-1] if "@" in parts.netloc else parts.netloc
    if "@" in parts.netloc:
        host = "…@" + host
    rest = "/…" if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host}{rest}"[:300]


# Recording what the receiver answered -------------------------------------------------------

_recording = threading.local()


def _install_response_recorder() -> None:
    """Let a thread see the HTTP status and Retry-After of requests Apprise makes for it.

    Apprise reports only success or failure; to honour Retry-After we need the response. The
    wrapper records only while a thread has asked for it and otherwise passes straight through.
    """
    session_cls = requests.sessions.Session
    if getattr(session_cls.send, "_opsportal_recorder", False):
        return
    original = session_cls.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        records = getattr(_recording, "records", None)
        try:
            response = original(self, request, **kwargs)
        except Exception as exc:
            if records is not None:
                records.append((None, None, type(exc).__name__))
            raise
        if records is not None:
            records.append((response.status_code, response.headers.get("Retry-After"), None))
        return response

    send._opsportal_recorder = True  # type: ignore[attr-defined]
    session_cls.send = send  # type: ignore[method-assign]


_install_response_recorder()


@contextlib.contextmanager
def record_responses() -> Iterator[list[tuple[int | None, str | None, str | None]]]:
    _recording.records = []
    try:
        yield _recording.records
    finally:
        _recording.records = None


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or timezone.now())).total_seconds())
