"""The one request-parsing layer: JSON bodies and uploads checked before any view code sees them.

A body is refused, with a JSON answer listing every error (index, field, message), when it is
larger than ``API_MAX_BODY_BYTES`` (413), not sent as ``application/json`` (415), not UTF-8
JSON, nested deeper than ``API_MAX_DEPTH``, or when any text holds a NUL or a lone surrogate
(PostgreSQL and UTF-8 cannot store them), any number has more digits than a 64-bit value or
is NaN/Infinity (they used to reach ``float()`` and the database). Batches have one limit,
``API_MAX_BATCH``. ``storable_time`` (used by ``opsportal.web.parse_time``, the one time parser) refuses
times PostgreSQL cannot store (offsets beyond ±15:59).

``BodyRefused`` is not a ``ValueError``: views that catch ``ValueError`` from ``json_body``
for their own messages let it through to ``api_view``, which answers with its status.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

DEFAULT_MAX_DEPTH = 32
# 64-bit integers and floats written out in full are at most this long; anything longer is refused
# before Python builds the number (a 400-digit integer overflowed float() further on).
MAX_NUMBER_CHARS = 40
INT_LIMIT = 2**63
MAX_STRING_CHARS = 100_000
# PostgreSQL's timestamptz accepts a displacement of at most 15:59 (TZ_DISP limits); +23:59 is an error there.
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class BodyError:
    """One thing wrong with a body: where (index in the batch, field path) and what."""

    message: str
    field: str = "body"
    index: int | None = None
    path: str = ""  # the whole way in, for messages: services[0].name

    def __str__(self) -> str:
        where = self.path or (f"[{self.index}].{self.field}" if self.index is not None else self.field)
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.index is not None:
            entry = {"index": self.index, **entry}
        return entry


class BodyRefused(Exception):
    """A request body that no view should see; ``response()`` is the JSON answer."""

    def __init__(self, status: int, message: str, errors: Iterable[BodyError] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors) or [BodyError(message)]

    def response(self) -> JsonResponse:
        return JsonResponse(
            {"error": self.message, "errors": [e.as_dict() for e in self.errors]},
            status=self.status,
        )


def max_body_bytes() -> int:
    return int(settings.API_MAX_BODY_BYTES)


def _max_depth() -> int:
    return int(settings.API_MAX_DEPTH)


def max_batch() -> int:
    return int(settings.API_MAX_BATCH)


# Reading -----------------------------------------------------------------------------------


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isdigit() else None


def read_body(request: HttpRequest, *, max_bytes: int | None = None) -> bytes:
    """The raw body, at most ``max_bytes`` (413 beyond, before anything is read when the length is declared)."""
    cap = max_body_bytes() if max_bytes is None else max_bytes
    declared = _content_length(request)
    if declared is not None and declared > cap:
        raise too_large(cap, declared)
    try:
        body = request.body
    except RequestDataTooBig:
        # Django's own cap (DATA_UPLOAD_MAX_MEMORY_SIZE) is lower than the caller's: still a JSON 413.
        raise too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, declared) from None
    if len(body) > cap:
        raise too_large(cap, len(body))
    return body


def too_large(cap: int, size: int | None) -> BodyRefused:
    got = f" (got {size} bytes)" if size is not None else ""
    return BodyRefused(413, f"request body larger than {cap} bytes{got}", [BodyError(f"at most {cap} bytes")])


def require_json_type(request: HttpRequest, accept: Iterable[str] = JSON_TYPES) -> None:
    content_type = (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if content_type not in accept:
        shown = content_type[:60] or "none"
        wanted = " or ".join(accept)
        raise BodyRefused(
            415,
            f"send the body as {wanted} (Content-Type was {shown})",
            [BodyError(f"Content-Type must be {wanted}", field="Content-Type")],
        )


def check_query(request: HttpRequest) -> None:
    """Refuse (400) a query string whose names or values PostgreSQL cannot store (NUL, lone surrogates).

    Such a value used to reach a filter and fail in the database as a 500 (found by schemathesis).
    """
    errors = []
    for name, values in request.GET.lists():
        problem = text_problem(name)
        if problem:
            errors.append(BodyError(f"a parameter name {problem}", field="query"))
            continue
        problem = next((p for p in map(text_problem, values) if p), "")
        if problem:
            errors.append(BodyError(problem, field=name[:50]))
    if errors:
        raise BodyRefused(400, f"query string refused with {len(errors)} error(s)", errors)


# Parsing -----------------------------------------------------------------------------------


class _Refused:
    """A number json refused to build: kept as a marker so the walk can name its field."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _parse_int(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused(f"number with {len(text)} digits; at most {MAX_NUMBER_CHARS} characters")
    number = int(text)
    if not -INT_LIMIT <= number < INT_LIMIT:
        return _Refused("integer outside the 64-bit range")
    return number


def _parse_float(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused(f"number of {len(text)} characters; at most {MAX_NUMBER_CHARS}")
    number = float(text)
    if not math.isfinite(number):
        return _Refused("number too large to store")
    return number


def _parse_constant(text: str) -> Any:
    return _Refused(f"{text} is not a number JSON allows")


def loads(raw: bytes | str, *, max_depth: int | None = None) -> Any:
    """Parse JSON text and check every value; raises BodyRefused (400) listing each problem."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyRefused(400, f"body is not UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    if text.startswith("\ufeff"):
        text = text[1:]
    depth = _max_depth() if max_depth is None else max_depth
    if _bracket_depth_exceeds(text, depth):
        raise BodyRefused(400, f"JSON nested deeper than {depth} levels")
    try:
        document = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise BodyRefused(400, f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BodyRefused(400, f"JSON nested deeper than {depth} levels") from None
    errors = list(check_values(document, max_depth=depth))
    if errors:
        raise BodyRefused(400, f"body refused with {len(errors)} error(s); nothing was stored", errors)
    return document


_BRACKETS = re.compile(r'[\[\]{}"\\]')


def _bracket_depth_exceeds(text: str, depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``depth`` (checked before json recurses)."""
    if text.count("[") + text.count("{") <= depth:
        return False
    level = 0
    in_string = False
    skip_at = -1  # position of the character a backslash escapes
    for match in _BRACKETS.finditer(text):
        ch, at = match.group(), match.start()
        if at == skip_at:
            continue
        if in_string:
            if ch == "\\":
                skip_at = at + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            if level > depth:
                return True
        elif ch in "]}":
            level -= 1
    return False


def path_text(path: tuple[Any, ...]) -> str:
    """``("services", 0, "name")`` as ``services[0].name``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _error(message: str, path: tuple[Any, ...]) -> BodyError:
    index, field = _where(path)
    return BodyError(message, field, index, path_text(path))


def _where(path: tuple[Any, ...]) -> tuple[int | None, str]:
    """(index in the first list on the path, the rest as a dotted field name)."""
    for position, part in enumerate(path):
        if isinstance(part, int):
            rest = path[position + 1 :]
            prefix = [str(p) for p in path[:position]]
            field = ".".join(str(p) for p in rest) or (".".join(prefix) or "item")
            return part, field
    return None, ".".join(str(p) for p in path) or "body"


def text_problem(value: str) -> str:
    """Why a text cannot be stored, or ''."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return "" if len(value) <= MAX_STRING_CHARS else f"text longer than {MAX_STRING_CHARS} characters"
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000)"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}); send valid Unicode"


def check_values(document: Any, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Iterable[BodyError]:
    """Every refused value in a parsed document (iterative, so depth never recurses in Python)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if len(path) > max_depth:
            yield _error(f"nested deeper than {max_depth} levels", path)
            continue
        if isinstance(value, _Refused):
            yield _error(value.why, path)
        elif isinstance(value, str):
            problem = text_problem(value)
            if problem:
                yield _error(problem, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = text_problem(key)
                if problem:
                    yield _error(f"a key {problem}", path)
                    continue
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in reversed(list(enumerate(value))))


def parse_json(
    request: HttpRequest,
    *,
    max_bytes: int | None = None,
    max_depth: int | None = None,
    require_type: bool = True,
    allow_empty: bool = False,
) -> Any:
    """The checked JSON document of a request (None for an empty body when ``allow_empty``)."""
    raw = read_body(request, max_bytes=max_bytes)
    if not raw.strip():
        if allow_empty:
            return None
        raise BodyRefused(400, "the body is empty; send a JSON document")
    if require_type:
        require_json_type(request)
    return loads(raw, max_depth=max_depth)


def batch(items: Any, *, key: str, limit_to: int | None = None) -> list[Any]:
    """A batch of items (a list); refused (413) when it holds more than ``API_MAX_BATCH``."""
    if not isinstance(items, list):
        message = f'send a JSON list, or an object {{"{key}": [...]}}'
        raise BodyRefused(400, message, [BodyError(message)])
    cap = max_batch() if limit_to is None else limit_to
    if not items:
        raise BodyRefused(400, "the batch is empty", [BodyError("the batch is empty", key)])
    if len(items) > cap:
        message = f"the batch has {len(items)} items; at most {cap} are accepted at once"
        raise BodyRefused(413, message, [BodyError(message, key)])
    return items


# Times -------------------------------------------------------------------------------------


def storable_time(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, or ValueError when PostgreSQL could not store it (offset beyond ±15:59, out of range)."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("has a UTC offset beyond ±15:59, which PostgreSQL cannot store")
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


def refuse(errors: list[BodyError], *, status: int = 400, what: str = "request") -> None:
    """Raise BodyRefused for a non-empty list of errors found by a view's own checks."""
    if errors:
        raise BodyRefused(status, f"{what} refused with {len(errors)} error(s); nothing was stored", errors)
