"""The console's API page, read from the OpenAPI description: operations by group, their fields as table rows.

Schemas are flattened into rows (``results[].slug``, its type, whether it is required, what it
means); a named schema (``$ref``) is a link to its own table under "Schemas", so nothing is
repeated and nothing is fetched from elsewhere (no CDN, no script).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .apidoc import Schema

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
ROLES_LINE = re.compile(r"(?:^|\n\n)Roles: [^\n]*$")
MAX_DEPTH = 4


@dataclass
class Row:
    """One field of a schema: dotted name, type, required, description, and the named schema it refers to."""

    name: str
    type: str
    required: bool
    description: str = ""
    ref: str = ""


@dataclass
class Media:
    content_type: str
    type: str
    ref: str
    rows: list[Row]
    example: str = ""


@dataclass
class AnswerDoc:
    status: str
    description: str
    media: list[Media]
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class OperationDoc:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    roles: list[str]
    permissions: list[str]
    public: bool
    params: list[Row]
    body: list[Media]
    body_required: bool
    body_description: str
    answers: list[AnswerDoc]


@dataclass
class Group:
    name: str
    description: str
    operations: list[OperationDoc] = field(default_factory=list)


def ref_name(schema: Schema) -> str:
    target = schema.get("$ref", "")
    return target.rsplit("/", 1)[-1] if target else ""


def type_text(schema: Schema) -> str:
    """A short type for people: ``string (date-time)``, ``list of Service``, ``one of up, down``."""
    if not schema:
        return "any"
    name = ref_name(schema)
    if name:
        return name
    for either in ("anyOf", "oneOf"):
        if either in schema:
            return " or ".join(type_text(s) for s in schema[either])
    if "enum" in schema:
        shown = ", ".join("null" if v is None else str(v) for v in schema["enum"])
        return f"one of {shown}"
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    words = []
    for kind in kinds:
        if kind == "array":
            words.append(f"list of {type_text(schema.get('items', {}))}")
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict) and not schema.get("properties"):
            words.append(f"map of name → {type_text(schema['additionalProperties'])}")
        elif kind == "string" and "format" in schema:
            words.append(f"string ({schema['format']})")
        else:
            words.append(str(kind))
    text = " or ".join(words)
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"), ("minItems", "items ≥"))
        if key in schema
    ]
    return f"{text}, {', '.join(bounds)}" if bounds else text


def _object_of(schema: Schema) -> Schema | None:
    """The object schema a field opens into (itself, its array's items, or the non-null branch)."""
    if schema.get("properties"):
        return schema
    if "array" in (schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]):
        items = schema.get("items", {})
        return items if items.get("properties") else None
    for either in ("anyOf", "oneOf"):
        branches = [s for s in schema.get(either, []) if s.get("type") != "null"]
        if len(branches) == 1:
            return _object_of(branches[0])
    return None


def rows(schema: Schema, prefix: str = "", depth: int = 0) -> list[Row]:
    """The fields of an object schema, nested objects flattened with dotted names (``[]`` for lists)."""
    out: list[Row] = []
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        dotted = f"{prefix}{name}"
        out.append(Row(dotted, type_text(sub), name in required, sub.get("description", ""), ref_name(sub)))
        inner = _object_of(sub)
        if inner is not None and depth < MAX_DEPTH and not ref_name(sub):
            is_list = "array" in str(sub.get("type", ""))
            out.extend(rows(inner, f"{dotted}{'[]' if is_list else ''}.", depth + 1))
    return out


def media(content: dict[str, Any]) -> list[Media]:
    out = []
    for kind, entry in content.items():
        schema = entry.get("schema", {})
        inner = _object_of(schema)
        fields = rows(inner) if inner and not ref_name(schema) else []
        example = json.dumps(entry["example"], indent=2) if "example" in entry else ""
        out.append(Media(kind, type_text(schema), ref_name(schema), fields, example))
    return out


def operation_doc(path: str, method: str, op: Schema) -> OperationDoc:
    params = [
        Row(
            f"{p['name']} ({p['in']})",
            type_text(p.get("schema", {})),
            p.get("required", False),
            p.get("description", ""),
        )
        for p in op.get("parameters", [])
    ]
    body = op.get("requestBody", {})
    answers = [
        AnswerDoc(
            code,
            answer.get("description", ""),
            media(answer.get("content", {})),
            [(name, h.get("description", "")) for name, h in answer.get("headers", {}).items()],
        )
        for code, answer in op.get("responses", {}).items()
    ]
    description = ROLES_LINE.sub("", op.get("description", ""))  # the roles are shown from x-roles
    return OperationDoc(
        anchor=op.get("operationId", f"{method}-{path}"),
        method=method.upper(),
        path=path,
        summary=op.get("summary", ""),
        description=description,
        roles=op.get("x-roles", []),
        permissions=op.get("x-permissions", []),
        public=not op.get("security"),
        params=params,
        body=media(body.get("content", {})),
        body_required=body.get("required", False),
        body_description=body.get("description", ""),
        answers=answers,
    )


def page(document: Schema) -> dict[str, Any]:
    """The template context of the API page."""
    groups = {t["name"]: Group(t["name"], t.get("description", "")) for t in document.get("tags", [])}
    for path, item in document["paths"].items():
        for method in METHOD_ORDER:
            if method in item:
                op = item[method]
                name = (op.get("tags") or ["other"])[0]
                groups.setdefault(name, Group(name, "")).operations.append(operation_doc(path, method, op))
    schemas = [
        {"name": name, "description": schema.get("description", ""), "rows": rows(schema), "type": type_text(schema)}
        for name, schema in document["components"]["schemas"].items()
    ]
    return {
        "info": document["info"],
        "groups": [g for g in groups.values() if g.operations],
        "schemas": schemas,
        "operation_count": sum(len(g.operations) for g in groups.values()),
    }
