"""What each JSON endpoint declares about itself for the OpenAPI description (opsportal.openapi builds it).

A view says what it takes and answers with ``@describe(method, summary, ...)`` next to its
``api_view`` (or ``public_view``); the builder adds what the code already knows: the path and its
parameters (from the URL pattern), the methods and the permission (from ``api_view``), the roles
holding it (``opsportal.roles``), bearer auth and the error answers every guard gives. Schemas are
JSON Schema 2020-12 (OpenAPI 3.1) built with the helpers below: ``obj()`` requires every property
unless named optional and allows no other, so a field added to an answer without its description
fails the schemathesis run (tests/test_openapi_schemathesis.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]
View = Callable[..., Any]

# -- schema helpers ----------------------------------------------------------------------------

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
ANY_OBJECT: Schema = {"type": "object"}
SLUG: Schema = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}

# Named schemas, shown once under components.schemas and referred to by $ref.
COMPONENTS: dict[str, Schema] = {}
# Tag (a group of operations) -> what it is about.
TAGS: dict[str, str] = {}


def tag(name: str, description: str) -> str:
    """Declare a group of operations (the API page's sections); returns the name for ``describe(tag=...)``."""
    TAGS[name] = description
    return name


def component(name: str, schema: Schema) -> Schema:
    """Register ``schema`` as ``#/components/schemas/<name>`` and return the reference to it."""
    known = COMPONENTS.get(name)
    if known is not None and known != schema:
        raise ValueError(f"two different schemas named {name!r}")
    COMPONENTS[name] = schema
    return ref(name)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def described(schema: Schema, text: str) -> Schema:
    return {**schema, "description": text}


def null(schema: Schema) -> Schema:
    """``schema`` or null."""
    kind = schema.get("type")
    if isinstance(kind, str):
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def enum(values: Iterable[str], text: str = "") -> Schema:
    out: Schema = {"type": "string", "enum": list(values)}
    if text:
        out["description"] = text
    return out


def arr(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def obj(properties: Mapping[str, Schema], *, optional: Iterable[str] = (), extra: bool = False, **more: Any) -> Schema:
    """An object with these properties, all required but ``optional``, no other unless ``extra``."""
    maybe = set(optional)
    unknown = maybe - set(properties)
    if unknown:
        raise ValueError(f"optional names no property: {sorted(unknown)}")
    out: Schema = {"type": "object", "properties": dict(properties)}
    required = [name for name in properties if name not in maybe]
    if required:
        out["required"] = required
    if not extra:
        out["additionalProperties"] = False
    return {**out, **more}


def mapping(values: Schema, **more: Any) -> Schema:
    """An object whose keys are names (services, agents ...) and whose values are all ``values``."""
    return {"type": "object", "additionalProperties": values, **more}


def page_of(item: Schema) -> Schema:
    """The list envelope of ``opsportal.web.api_page``."""
    return obj(
        {
            "count": described(INT, "Rows matching the filters, on every page."),
            "page": INT,
            "pages": INT,
            "next": described(
                null({"type": "string", "format": "uri"}), "Absolute URL of the next page; null on the last."
            ),
            "results": arr(item),
        }
    )


# -- parameters, bodies, answers ---------------------------------------------------------------


def query(name: str, schema: Schema, description: str = "", *, required: bool = False, example: Any = None) -> Schema:
    out: Schema = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        out["description"] = description
    if example is not None:
        out["example"] = example
    return out


def header(name: str, schema: Schema, description: str = "", *, required: bool = False) -> Schema:
    return {**query(name, schema, description, required=required), "in": "header"}


@dataclass(frozen=True)
class Body:
    """A request body: its schema per content type (JSON unless told), and whether it may be left out."""

    schema: Schema
    description: str = ""
    required: bool = True
    content: Mapping[str, Schema] = field(default_factory=dict)  # other media types and their schemas
    # A body that works against the demo data (service "api", agent "content"): shown on the API page,
    # and sent by the schemathesis run, which expects a 2xx for it.
    example: Any = None

    def as_openapi(self) -> Schema:
        media: Schema = {"application/json": {"schema": self.schema}} if self.schema else {}
        if self.example is not None and media:
            media["application/json"]["example"] = self.example
        media.update({kind: {"schema": schema} for kind, schema in self.content.items()})
        out: Schema = {"required": self.required, "content": media}
        if self.description:
            out["description"] = self.description
        return out

    @property
    def takes_json(self) -> bool:
        return bool(self.schema)


@dataclass(frozen=True)
class Answer:
    """One answer of an operation: what it means and, per content type, its schema."""

    description: str
    schema: Schema | None = None
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)  # header name -> what it says
    content: Mapping[str, Schema] = field(default_factory=dict)  # other media types and their schemas

    def as_openapi(self) -> Schema:
        out: Schema = {"description": self.description}
        media = {self.content_type: {"schema": self.schema}} if self.schema is not None else {}
        media.update({kind: {"schema": schema} for kind, schema in self.content.items()})
        if media:
            out["content"] = media
        if self.headers:
            out["headers"] = {name: {"description": text, "schema": STR} for name, text in self.headers.items()}
        return out


@dataclass(frozen=True)
class Operation:
    """One method of one endpoint as its view declares it."""

    method: str
    summary: str
    tag: str
    answers: Mapping[int, Answer]
    params: Sequence[Schema] = ()
    body: Body | None = None
    description: str = ""
    # Whether the guard's generic answers (400 for a bad parameter, 404 for an unknown path object) apply.
    errors: Sequence[int] = ()


# Every described view, so the drift test can tell a described view that is not routed.
DESCRIBED: list[View] = []


def describe(
    method: str,
    summary: str,
    *,
    tag: str,
    answers: Mapping[int, Answer | str],
    params: Sequence[Schema] = (),
    body: Body | None = None,
    description: str = "",
    errors: Sequence[int] = (),
) -> Callable[[View], View]:
    """Attach one method's description to a view (stack one per method); see the module docstring.

    ``answers`` maps a status to an ``Answer`` (a bare string: a JSON answer with no declared
    schema). ``errors`` adds the portal's error shape for statuses the view itself returns (400 a
    bad parameter or body field, 404 an unknown object, 409 a state that forbids the action).
    """
    verb = method.upper()
    shaped = {code: a if isinstance(a, Answer) else Answer(a) for code, a in answers.items()}

    def decorator(view: View) -> View:
        ops: dict[str, Operation] = dict(getattr(view, "openapi_operations", {}))
        if verb in ops:
            raise ValueError(f"{view.__name__}: {verb} described twice")
        ops[verb] = Operation(verb, summary, tag, shaped, params, body, description or (view.__doc__ or ""), errors)
        view.openapi_operations = ops  # type: ignore[attr-defined]
        if view not in DESCRIBED:
            DESCRIBED.append(view)
        return view

    return decorator
