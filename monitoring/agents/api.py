"""Native JSON ingest of agent runs and log lines (bearer token with the ingest permission).

A batch is all or nothing: one bad item refuses the whole batch with 400 listing every error
(index, field, message) and nothing is stored; a batch over its size limit, or a log message over
LOG_MAX_MESSAGE_BYTES, gets 413.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

from opsportal.access import api_error, api_view, json_body
from opsportal.apidoc import ANY_OBJECT, BOOL, INT, NUM, SLUG, STR, TIME, Answer, Body, arr, describe, enum, obj

from . import fields, ingest
from .choices import LEVEL_ALIASES, LogLevel
from .fields import Errors, PayloadTooLarge

INGEST_PERMISSION = "opsportal.ingest_metrics"

INGEST = "Ingest"  # the group declared by monitoring.metrics.api
AT = {"description": "ISO-8601 with a zone, or Unix seconds.", "anyOf": [TIME, {"type": "number", "minimum": 0}]}
COUNT = {"type": "integer", "minimum": 0}
RUN = obj(
    {
        "agent": {"type": "string", "description": "The agent's slug or name."},
        "id": {"type": "string", "maxLength": 100, "description": "Your run id: a run sent twice is stored once."},
        "started_at": AT,
        "duration_ms": {"type": "number", "minimum": 0},
        "duration_seconds": {"type": "number", "minimum": 0},
        "peak_memory_mb": {"type": "number", "minimum": 0},
        "critique_iterations": COUNT,
        "critique_seconds": {"type": "number", "minimum": 0},
        "qa_verdict": {"type": ["string", "null"], "enum": ["approved", "rejected", None]},
        "quality_score": {"type": "number", "minimum": 0, "maximum": 100},
        "provider": {"type": "string", "maxLength": 50},
        "model": {"type": "string", "maxLength": 100},
        "tokens_in": COUNT,
        "tokens_out": COUNT,
        "cost_usd": {"type": "number", "minimum": 0},
        "ok": BOOL,
        "error": STR,
        "measures": {"type": "object", "additionalProperties": NUM, "maxProperties": 20},
        "attributes": ANY_OBJECT,
        "trace_id": {"type": "string", "maxLength": 32},
    },
    optional=[
        "id",
        "started_at",
        "duration_ms",
        "duration_seconds",
        "peak_memory_mb",
        "critique_iterations",
        "critique_seconds",
        "qa_verdict",
        "quality_score",
        "provider",
        "model",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "ok",
        "error",
        "measures",
        "attributes",
        "trace_id",
    ],
    description="One run; duration_ms or duration_seconds is required.",
)
LOG = obj(
    {
        "service": {**SLUG, "description": "Default: the agent's service."},
        "agent": STR,
        "level": enum([*LogLevel.values, *LEVEL_ALIASES]),
        "message": {"type": "string", "minLength": 1},
        "at": AT,
        "attributes": ANY_OBJECT,
        "trace_id": {"type": "string", "maxLength": 32},
    },
    optional=["service", "agent", "level", "at", "attributes", "trace_id"],
)


class Refused(Exception):
    """A request refused as a whole: status, message and the error list."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or [{"field": "body", "message": message}]

    def response(self) -> JsonResponse:
        return api_error(self.status, self.message, errors=self.errors)


def read_json(request: HttpRequest) -> Any:
    """The request body through the portal's JSON layer; a refusal keeps its status (413, 415, 400)."""
    try:
        return json_body(request)
    except RequestDataTooBig:
        raise Refused(413, "request body too large") from None
    except ValueError as exc:
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None) or 400
        if "larger than" in str(exc):
            status = 413
        raise Refused(int(status), str(exc)) from None


def read_batch(request: HttpRequest, key: str) -> list[Any]:
    body = read_json(request)
    items = body.get(key) if isinstance(body, dict) and set(body) == {key} else body
    if not isinstance(items, list):
        raise Refused(400, f'send a JSON list, or an object {{"{key}": [...]}}')
    if not items:
        raise Refused(400, "the batch is empty", [{"field": key, "message": "the batch is empty"}])
    return items


def _refused(errors: Errors) -> JsonResponse:
    return api_error(400, f"batch refused with {len(errors)} error(s); nothing was stored", errors=errors[:200])


@describe(
    "POST",
    "Push agent runs",
    tag=INGEST,
    body=Body(
        {"oneOf": [arr(RUN, minItems=1), obj({"runs": arr(RUN, minItems=1)})]},
        'A list of runs, or {"runs": [...]}; at most AGENT_INGEST_MAX_BATCH.',
        example={"runs": [{"agent": "content", "id": "run-42", "duration_ms": 4200, "qa_verdict": "approved"}]},
    ),
    answers={
        201: Answer(
            "Stored; runs already stored (same id) are counted as duplicates.", obj({"stored": INT, "duplicates": INT})
        )
    },
)
@api_view(INGEST_PERMISSION, methods=("POST",))
def ingest_runs(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/ingest/agent-runs: a list of runs, or {"runs": [...]}."""
    try:
        items = read_batch(request, "runs")
        ingest.check_batch_size(len(items), ingest.max_runs(), "runs")
    except Refused as refused:
        return refused.response()
    except PayloadTooLarge as exc:
        return api_error(413, str(exc), errors=[{"field": "runs", "message": str(exc)}])
    now = fields.now()
    lookup = ingest.Lookup(agent_names=(i.get("agent") for i in items if isinstance(i, dict)))
    errors = Errors()
    runs = [ingest.run_from_item(item, index, errors, lookup, now) for index, item in enumerate(items)]
    if errors:
        return _refused(errors)
    stored = ingest.store_runs([r for r in runs if r is not None])
    return JsonResponse({"stored": stored, "duplicates": len(runs) - stored}, status=201)


@describe(
    "POST",
    "Push log lines",
    tag=INGEST,
    body=Body(
        {"oneOf": [arr(LOG, minItems=1), obj({"logs": arr(LOG, minItems=1)})]},
        'A list of lines, or {"logs": [...]}; at most LOG_INGEST_MAX_BATCH, each message at most LOG_MAX_MESSAGE_BYTES.',
        example={"logs": [{"service": "api", "agent": "content", "level": "error", "message": "model call failed"}]},
    ),
    answers={201: Answer("Stored.", obj({"stored": INT}))},
)
@api_view(INGEST_PERMISSION, methods=("POST",))
def ingest_logs(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/ingest/logs: a list of lines, or {"logs": [...]}."""
    try:
        items = read_batch(request, "logs")
        ingest.check_batch_size(len(items), ingest.max_log_lines(), "log lines")
        now = fields.now()
        dicts = [i for i in items if isinstance(i, dict)]
        lookup = ingest.Lookup(
            agent_names=(i.get("agent") for i in dicts), service_names=(i.get("service") for i in dicts)
        )
        errors = Errors()
        limit = ingest.max_message_bytes()
        lines = [ingest.log_from_item(item, index, errors, lookup, now, limit) for index, item in enumerate(items)]
    except Refused as refused:
        return refused.response()
    except PayloadTooLarge as exc:
        return api_error(413, str(exc), errors=[{"field": "logs", "message": str(exc)}])
    if errors:
        return _refused(errors)
    stored = ingest.store_logs([line for line in lines if line is not None])
    return JsonResponse({"stored": stored}, status=201)
