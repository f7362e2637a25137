"""OTLP/HTTP receivers: ``POST /v1/traces`` and ``POST /v1/logs`` (bearer token with the ingest permission).

As the OTLP/HTTP spec says: ``application/x-protobuf`` or ``application/json`` bodies, optionally
gzip-compressed; success is 200 with an empty Export*ServiceResponse in the request's encoding; a
bad request is 400 with a ``google.rpc.Status`` (code 3, INVALID_ARGUMENT) whose message names the
fields. A batch is all or nothing: partial success is never reported (nothing of a refused batch is
stored). A body over OTLP_MAX_BYTES (compressed or not) gets 413, 415 for another content type.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from opsportal import bodies
from opsportal.access import api_view, json_body
from opsportal.apidoc import ANY_OBJECT, INT, STR, Answer, Body, View, arr, describe, obj, tag

from . import conf, fields, ingest, otlp
from .api import INGEST_PERMISSION
from .fields import Errors, PayloadTooLarge

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

OTLP = tag("OTLP", "OpenTelemetry OTLP/HTTP receivers (JSON or protobuf, optionally gzip).")
OTLP_ERROR = obj(
    {"code": INT, "message": STR, "details": arr(ANY_OBJECT), "error": STR, "errors": arr(ANY_OBJECT)},
    description="A google.rpc.Status (code 3, INVALID_ARGUMENT); in protobuf when the request was protobuf.",
)
BINARY = {"type": "string", "format": "binary"}
LOGS_EXAMPLE = {
    "resourceLogs": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
            "scopeLogs": [{"logRecords": [{"severityText": "ERROR", "body": {"stringValue": "model call failed"}}]}],
        }
    ]
}


def _described(summary: str, what: str, message: str, example: dict[str, Any]) -> Callable[[View], View]:
    """The description of an OTLP receiver (``what`` it stores, the ``message`` it takes)."""
    protobuf = {PROTOBUF: BINARY}
    refused = "The batch was refused whole (nothing stored)"
    return describe(
        "POST",
        summary,
        tag=OTLP,
        body=Body(
            obj({}, extra=True, description=f"An {message} in OTLP JSON."),
            f"An {message}: application/json or application/x-protobuf, Content-Encoding gzip allowed.",
            content=protobuf,
            example=example,
        ),
        answers={
            200: Answer(
                f"Every {what} stored; an empty {message.replace('Request', 'Response')} in the request's encoding.",
                obj({}, extra=True),
                content=protobuf,
            ),
            400: Answer(f"{refused}: the message names the fields.", OTLP_ERROR, content=protobuf),
            413: Answer("The body (compressed or not) or the batch is too large.", OTLP_ERROR, content=protobuf),
            415: Answer("Another Content-Type or Content-Encoding.", OTLP_ERROR, content=protobuf),
        },
    )


class Refusal(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or []


def max_bytes() -> int:
    return conf.OTLP_MAX_BYTES.get()


def _decompress(raw: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise Refusal(415, f"Content-Encoding {encoding[:20]!r} is not supported (use gzip or none)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, max_bytes() + 1)
    except zlib.error:
        raise Refusal(400, "body: not valid gzip") from None
    if len(out) > max_bytes() or inflater.unconsumed_tail:
        raise Refusal(413, f"decompressed body larger than {max_bytes()} bytes")
    return out


def _read(request: HttpRequest) -> tuple[str, Any]:
    """(content type, parsed JSON or raw protobuf bytes) within the size bound."""
    ctype = request.content_type or ""
    if ctype not in (PROTOBUF, JSON):
        raise Refusal(415, f"Content-Type must be {PROTOBUF} or {JSON}")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > max_bytes():
        raise Refusal(413, f"request body larger than {max_bytes()} bytes")
    try:
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if ctype == JSON and encoding in ("", "identity"):
            return ctype, json_body(request, max_bytes=max_bytes())
        raw = _decompress(request.body, encoding)
    except RequestDataTooBig:
        raise Refusal(413, "request body too large") from None
    except (
        bodies.BodyRefused
    ) as refused:  # answered as a google.rpc.Status like every OTLP refusal (was the API's shape)
        raise Refusal(refused.status, str(refused.errors[0]), [e.as_dict() for e in refused.errors]) from None
    except ValueError as exc:
        status = getattr(exc, "status", None) or (413 if "larger than" in str(exc) else 400)
        raise Refusal(int(status), str(exc)) from None
    if ctype == JSON:
        try:
            return ctype, json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise Refusal(400, f"body is not valid JSON: {str(exc)[:100]}") from None
    return ctype, raw


def _answer(ctype: str, status: int, message: str = "", errors: list[dict[str, Any]] | None = None) -> HttpResponse:
    if status == 200:
        return HttpResponse(b"" if ctype == PROTOBUF else b"{}", content_type=ctype or JSON)
    if ctype == PROTOBUF:
        from google.rpc.status_pb2 import Status

        return HttpResponse(Status(code=3, message=message).SerializeToString(), status=status, content_type=PROTOBUF)
    body = {"code": 3, "message": message, "details": [], "error": message, "errors": errors or []}
    return HttpResponse(json.dumps(body), status=status, content_type=JSON)


def _refused(ctype: str, errors: Errors) -> HttpResponse:
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return _answer(ctype, 400, f"batch refused, nothing stored: {listed}{more}", errors[:200])


def _receive(request: HttpRequest, kind: str) -> HttpResponse:
    ctype = request.content_type if request.content_type in (PROTOBUF, JSON) else JSON
    try:
        ctype, body = _read(request)
        if kind == "traces":
            items = otlp.spans_from_json(body) if ctype == JSON else otlp.spans_from_protobuf(body)
            ingest.check_batch_size(len(items), conf.OTLP_MAX_SPANS.get(), "spans")
        else:
            items = otlp.records_from_json(body) if ctype == JSON else otlp.records_from_protobuf(body)
            ingest.check_batch_size(len(items), ingest.max_log_lines(), "log records")
        now = fields.now()
        errors = Errors()
        if kind == "traces":
            runs, calls = otlp.map_spans(items, now, errors)
        else:
            lines = otlp.map_records(items, now, errors)
    except otlp.Malformed as exc:
        field, _, message = str(exc).partition(": ")
        return _answer(ctype, 400, str(exc), [{"field": field, "message": message}])
    except Refusal as refusal:
        errors = refusal.errors or [{"field": "body", "message": refusal.message}]
        return _answer(ctype, refusal.status, refusal.message, errors)
    except PayloadTooLarge as exc:
        return _answer(ctype, 413, str(exc), [{"field": "body", "message": str(exc)}])
    if errors:
        return _refused(ctype, errors)
    if kind == "traces":
        ingest.store_runs(runs, calls)
    else:
        ingest.store_logs(lines)
    return _answer(ctype, 200)


@_described("OTLP traces", "span", "ExportTraceServiceRequest", {"resourceSpans": []})
@api_view(INGEST_PERMISSION, methods=("POST",))
def traces(request: HttpRequest) -> HttpResponse:
    """OTLP/HTTP traces: GenAI spans become agent runs and model calls."""
    return _receive(request, "traces")


@_described("OTLP logs", "log record", "ExportLogsServiceRequest", LOGS_EXAMPLE)
@api_view(INGEST_PERMISSION, methods=("POST",))
def logs(request: HttpRequest) -> HttpResponse:
    """OTLP/HTTP logs: records become log lines of their service (resource service.name)."""
    return _receive(request, "logs")
