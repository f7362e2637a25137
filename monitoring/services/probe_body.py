"""What a probe expects of an HTTP answer: accepted statuses, a bounded body, text and JSON values.

Every failure is a ProbeFailed whose message is safe to show and store: it never holds a secret, and
what the target sent is quoted as a short single-line excerpt at most (opsportal.redact).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

import httpx

from opsportal.formatting import human_bytes
from opsportal.redact import excerpt, path_looks_secret


class ProbeFailed(Exception):
    """A probe found a problem; the message is safe to show (no secrets)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def status_accepted(code: int, accepted: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= code <= hi for lo, hi in accepted)


def accepted_text(accepted: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in accepted)


async def read_limited(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes of the (still encoded) body; True when there was more."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """Undo gzip/deflate without ever producing more than ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" else zlib.MAX_WBITS)
        try:
            data = decoder.decompress(raw, limit + 1)
        except zlib.error:
            raise ProbeFailed(f"body is not valid {encoding} data") from None
        if len(data) > limit:
            raise ProbeFailed(f"decompressed body larger than the {human_bytes(limit)} read limit; stopped reading")
        return data
    raise ProbeFailed(f"unsupported content encoding {encoding!r} (the probe asks for identity)")


_MISSING = object()


def json_lookup(document: Any, path: str) -> Any:
    """Follow a dotted path (``checks.db.ok``, ``agents.0.status``) through dicts and lists."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))[:60]
    return str(value)


def check_html_type(content_type: str, status_code: int | None = None) -> None:
    """A frontend answers HTML: refuse any other Content-Type, naming the one received."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in ("text/html", "application/xhtml+xml"):
        raise ProbeFailed(f"expected HTML (text/html), got {media or 'no Content-Type'}", status_code)


HTML_MARKERS = (b"<!doctype html", b"<html")


def check_body(
    body: bytes, *, expect_text: str = "", json_path: str = "", json_value: str = "", expect_html: bool = False
) -> None:
    """Raise ProbeFailed when the body misses the expected text or JSON value, or is not HTML when HTML is expected."""
    if expect_html:
        head = body[:4096].lstrip().lower()
        if not head:
            raise ProbeFailed("expected an HTML page, got an empty body")
        if not any(marker in head for marker in HTML_MARKERS):
            raise ProbeFailed("expected an HTML page (no <html> or <!doctype html> at the start of the body)")
    if expect_text:
        text = body.decode("utf-8", errors="replace")
        if expect_text not in text:
            raise ProbeFailed(f"expected text {excerpt(expect_text)!r} not found in the body")
    if json_path:
        try:
            document = json.loads(body)
        except RecursionError:
            raise ProbeFailed("response is not valid JSON (nested too deeply)") from None
        except (ValueError, UnicodeDecodeError) as exc:
            where = (
                f" ({exc.msg} at line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            )
            raise ProbeFailed(f"response is not valid JSON{where}") from None
        value = json_lookup(document, json_path)
        if value is _MISSING:
            raise ProbeFailed(f"JSON has no {json_path!r}")
        if json_value and _json_text(value) != json_value:
            if path_looks_secret(json_path.split(".")):
                # The reason reaches alerts, every channel and the API: a credential read here must not.
                raise ProbeFailed(
                    f"JSON {json_path} does not match the expected value (its value is not shown: the key looks secret)"
                )
            raise ProbeFailed(f"JSON {json_path} is {excerpt(_json_text(value))!r}, expected {excerpt(json_value)!r}")
