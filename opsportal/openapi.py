"""The OpenAPI 3.1 description of every JSON endpoint, built from the URL resolver and the views' declarations.

``build()`` walks the project's URL patterns; every routed view that carries ``@describe``
(opsportal.apidoc) becomes a path item. From the code, not from prose: the path and its parameters
(each converter's type), the methods and permissions of ``api_view``, the roles holding them
(``roles.roles_holding``), bearer and session auth, and the error answers of the guard and the body
parser. tests/opsportal/test_openapi.py fails when a routed JSON endpoint is not described or a
described view is not routed; tests/test_openapi_schemathesis.py runs the description against a live server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter

from . import apidoc
from .apidoc import ANY_OBJECT, INT, STR, Answer, Operation, Schema, arr, obj, ref
from .roles import ROLES, roles_holding

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")

ERROR = "Error"
FIELD_ERROR = "FieldError"
COMPONENTS: dict[str, Schema] = {
    FIELD_ERROR: obj(
        {
            "index": {**INT, "description": "Position of the item in the batch (batches only)."},
            "field": STR,
            "message": STR,
        },
        optional=["index"],
    ),
    ERROR: obj(
        {
            "error": {**STR, "description": "What was wrong, for people."},
            "errors": {
                "description": "Each problem: field -> message, or a list with index, field and message (batches, bodies).",
                "anyOf": [{"type": "object", "additionalProperties": STR}, arr(ref(FIELD_ERROR))],
            },
        },
        optional=["errors"],
        extra=True,  # some answers add what helps: required (a permission), allowed (methods), state ...
        description="Every refusal of the JSON API: a message, and the field(s) it is about.",
    ),
}

INTRO = """\
The Ops Portal's JSON API. Every endpoint takes the signed-in session or `Authorization: Bearer opp_…`
(an API token made under your user name; it carries a role no higher than yours). Anonymous: 401;
a user or token without the permission: 403. Each operation names the permission it needs and the
roles that hold it.

Refusals are JSON: `{"error": "…", "errors": {…}}` naming each bad field (batches list
`{"index", "field", "message"}` per item; nothing of a refused batch is stored). Lists are paged:
`{"count", "page", "pages", "next", "results"}`. Times are ISO-8601 with a zone both ways.
Bodies are `application/json`, at most `API_MAX_BODY_BYTES` (413 beyond; 415 for another type).
"""

SECURITY_SCHEMES: Schema = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (opp_…) from Account → API tokens.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "The console's session; a POST also needs the CSRF token (X-CSRFToken).",
    },
}

GUARD_ANSWERS = {
    401: "Not signed in, no token, or an invalid, expired or revoked token.",
    403: "The user or the token's role lacks the permission (or a session POST failed its CSRF check).",
}
BODY_ANSWERS = {
    400: "The body is not valid JSON, or a field is wrong (each one named); nothing was stored.",
    413: "The body or the batch is larger than the portal accepts.",
    415: "The body was not sent as application/json.",
}
GENERIC_ANSWERS = {
    400: "A parameter or body field is wrong (each one named).",
    404: "Nothing by that name or id.",
    409: "The object's state does not allow this now.",
}


def converter_schema(converter: Any) -> Schema:
    """The JSON Schema of a path parameter from its Django converter."""
    if isinstance(converter, IntConverter):
        return {"type": "integer", "minimum": 0}
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    if isinstance(converter, SlugConverter):
        return apidoc.SLUG
    if isinstance(converter, PathConverter):
        return {"type": "string"}
    if isinstance(converter, StringConverter):
        return {"type": "string", "pattern": "^[^/]+$"}
    return {"type": "string", "pattern": f"^{converter.regex}$"}


def routes(
    patterns: list[Any] | None = None, prefix: str = "", converters: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(route text, its converters, the view) for every routed pattern (the Django admin aside)."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        found = {**(converters or {}), **getattr(p.pattern, "converters", {})}
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            yield from routes(p.url_patterns, prefix + str(p.pattern), found)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), found, p.callback


def openapi_path(route: str, converters: dict[str, Any]) -> tuple[str, list[Schema]]:
    """``api/v1/services/<slug:slug>`` -> (``/api/v1/services/{slug}``, its path parameters)."""
    params = [
        {"name": m["name"], "in": "path", "required": True, "schema": converter_schema(converters[m["name"]])}
        for m in _PARAM.finditer(route)
    ]
    return "/" + _PARAM.sub(lambda m: "{" + m["name"] + "}", route), params


def permissions(view: Any, method: str) -> list[str]:
    """What ``api_view`` checks for ``method``: its permission, and the method's own if it has one."""
    perm = getattr(view, "required_permission", None)
    if perm is None:
        return []
    extra = getattr(view, "method_permissions", {}).get(method)
    return [perm, extra] if extra else [perm]


def _roles(perms: list[str]) -> list[str]:
    return [r for r in ROLES if all(r in roles_holding(p) for p in perms)]


def _error(description: str) -> Schema:
    return Answer(description, ref(ERROR)).as_openapi()


def operation(view: Any, op: Operation, path_params: list[Schema]) -> Schema:
    perms = permissions(view, op.method)
    guarded = hasattr(view, "allowed_methods")  # an api_view (public views say so themselves)
    answers = {str(code): answer.as_openapi() for code, answer in sorted(op.answers.items())}
    if guarded:
        for code, text in GUARD_ANSWERS.items():
            answers.setdefault(str(code), _error(text))
    if op.body is not None and op.body.takes_json:
        for code, text in BODY_ANSWERS.items():
            answers.setdefault(str(code), _error(text))
    for code in op.errors:
        answers.setdefault(str(code), _error(GENERIC_ANSWERS.get(code, "Refused.")))
    if path_params and guarded:
        # A value the URL pattern does not match is never routed: the portal's JSON 404 under /api/.
        answers.setdefault("404", _error(GENERIC_ANSWERS[404]))
    out: Schema = {
        "operationId": f"{op.method.lower()}_{view.__module__.replace('.', '_')}_{view.__name__}",
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [*path_params, *op.params],
        "responses": dict(sorted(answers.items())),
    }
    text = " ".join(op.description.split())
    if guarded:
        roles = _roles(perms)
        out["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
        out["x-permissions"] = perms
        out["x-roles"] = roles
        needs = f"Roles: {', '.join(roles) or 'none'} (permission {' and '.join(perms)})."
        text = f"{text}\n\n{needs}" if text else needs
    else:
        out["security"] = []
        out["x-roles"] = ["anyone"]
    if text:
        out["description"] = text
    if op.body is not None:
        out["requestBody"] = op.body.as_openapi()
    if not out["parameters"]:
        del out["parameters"]
    return out


def described_routes() -> Iterator[tuple[str, Any, list[Schema]]]:
    """(OpenAPI path, view, path parameters) of every routed view that carries a description."""
    for route, converters, view in routes():
        if getattr(view, "openapi_operations", None):
            path, params = openapi_path(route, converters)
            yield path, view, params


def build() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    paths: dict[str, Schema] = {}
    used_tags: set[str] = set()
    for path, view, params in described_routes():
        item = paths.setdefault(path, {})
        for method, op in sorted(view.openapi_operations.items()):
            item[method.lower()] = operation(view, op, params)
            used_tags.add(op.tag)
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "Ops Portal API", "version": API_VERSION, "description": INTRO},
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": apidoc.TAGS.get(name, "")} for name in sorted(used_tags)],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted({**COMPONENTS, **apidoc.COMPONENTS}.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


__all__ = ["ANY_OBJECT", "build", "described_routes", "routes"]
