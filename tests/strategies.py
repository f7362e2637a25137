"""hypothesis generators for hostile request bodies, shared by every JSON endpoint's tests.

``hostile_bodies(template)`` takes a body an endpoint accepts and yields raw bodies that break it
the ways attackers and broken clients do: a value swapped for a NUL, a lone surrogate, a 400-digit
integer, NaN, a deep nest; a wrong type; a field renamed; a batch blown past its limit; invalid
UTF-8 or truncated JSON; brackets nested 100,000 deep. A new endpoint gets the same treatment by
listing its route (with a valid ``data``) in the role matrix: tests/test_hostile_bodies.py drives
every POST route of the API from there.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Raw JSON fragments that json.dumps cannot produce but a client can send.
RAW_NUMBERS = [
    "9" * 400,
    "-" + "1" * 400,
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "1" + "0" * 39,
    "0." + "0" * 500 + "1",
    "18446744073709551616",
]
HOSTILE_TEXT = [
    "\x00",
    "ok\x00",
    "\ud800",
    "a\udfffb",
    "\U0010ffff",
    "",
    " ",
    "x" * 5000,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; DROP TABLE monitoring_service; --",
    "\u202e\u0645",
    "2026-12-01T19:00:00+23:59",
    "9999-12-31T23:59:59-15:59",
    "0001-01-01T00:00:00+01:00",
]
MARK = "__HOSTILE_RAW__"


def _raw(text: str) -> str:
    """A placeholder json.dumps writes as a string, replaced afterwards by the raw fragment."""
    return f"{MARK}{text}{MARK}"


def render(document: Any) -> bytes:
    """JSON text of a document whose raw placeholders become bare fragments (huge numbers, NaN)."""
    text = json.dumps(document, ensure_ascii=True)
    while MARK in text:
        start = text.index(f'"{MARK}')
        end = text.index(f'{MARK}"', start + 1)
        text = text[:start] + text[start + len(MARK) + 1 : end] + text[end + len(MARK) + 1 :]
    return text.encode("utf-8")


hostile_scalars = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(RAW_NUMBERS).map(_raw),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)

json_values = st.recursive(
    hostile_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=10), st.sampled_from(["\x00", "\ud800"])), children, max_size=4),
    ),
    max_leaves=12,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _replace(copy[head], tuple(rest), value)
    return copy


def _nest(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> bytes:
    """The template with one place replaced by a hostile value, a key renamed, or a batch multiplied."""
    paths = _paths(template)
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["value", "value", "value", "key", "multiply", "deep"]))
    if how == "key" and path and isinstance(path[-1], str):
        parent = _paths_get(template, path[:-1])
        renamed = {
            (draw(st.sampled_from(["\x00", "\ud800", "x" * 300, "unknown"])) if k == path[-1] else k): v
            for k, v in parent.items()
        }
        return render(_replace(template, path[:-1], renamed))
    if how == "multiply":
        target = _paths_get(template, path)
        if isinstance(target, list) and target:
            count = draw(st.sampled_from([0, 1001, 10_000]))
            return render(_replace(template, path, (target * count)[:count]))
    if how == "deep":
        depth = draw(st.sampled_from([33, 200, 5000]))
        inner = render(_replace(template, path, _raw("DEEP")))
        return inner.replace(b"DEEP", _nest(depth))
    return render(_replace(template, path, draw(json_values)))


def _paths_get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


raw_garbage = st.one_of(
    st.just(b"[" * 100_000 + b"]" * 100_000),
    st.just(b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    st.just(b"\xff\xfe\x00{"),
    st.just(b'{"unterminated": "'),
    st.just(b"\xef\xbb\xbf{}"),
    st.just(b"null"),
    st.just(b"[]"),
    st.just(b'"just a string"'),
    st.just(b"1" * 5000),
    st.binary(max_size=64),
    json_values.map(render),
)


def hostile_bodies(template: Any) -> st.SearchStrategy[bytes]:
    """Raw bodies derived from a valid ``template`` plus generic garbage."""
    return st.one_of(mutated(template), mutated(template), raw_garbage)


content_types = st.sampled_from(
    ["application/json", "application/json", "application/json; charset=utf-8", "text/plain", "", "multipart/form-data"]
)
