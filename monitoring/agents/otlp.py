"""OTLP traces and logs (JSON or protobuf) into agent runs, model calls and log lines.

Both encodings are first read into the same plain shapes (``Span``, ``Record``: hex ids, a flat
dict of attributes), then mapped once. GenAI semantic conventions:

- a span with ``gen_ai.operation.name = invoke_agent`` is an agent run: ``gen_ai.agent.name``
  (a registered agent), start and end time, span status, ``gen_ai.provider.name``,
  ``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens``, and the portal's
  documented attributes ``agent.memory.peak_mb``, ``agent.critique.iterations``,
  ``agent.critique.seconds``, ``agent.qa.verdict``, ``agent.quality.score``, ``agent.cost.usd``,
  ``agent.run.id`` and ``agent.measure.<name>``; every other attribute is kept, bounded;
- a span with ``gen_ai.operation.name`` ``chat`` (or ``text_completion``, ``generate_content``) is a
  model call; inside an ``invoke_agent`` span of the same batch it counts toward that run;
- any other span is accepted and ignored.

Errors name the field by its place in the request, e.g.
``resourceSpans[0].scopeSpans[0].spans[3].attributes.gen_ai.agent.name``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from . import fields, ingest
from .choices import LogLevel, QaVerdict, RunSource, level_from_severity_number
from .fields import Errors

AGENT_OPERATION = "invoke_agent"
MODEL_OPERATIONS = {"chat", "text_completion", "generate_content"}
STATUS_ERROR = 2
KNOWN = {
    "gen_ai.operation.name",
    "gen_ai.agent.name",
    "gen_ai.agent.id",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "agent.memory.peak_mb",
    "agent.critique.iterations",
    "agent.critique.seconds",
    "agent.qa.verdict",
    "agent.quality.score",
    "agent.cost.usd",
    "agent.run.id",
    "error.type",
}


@dataclass
class Span:
    where: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start_ns: Any
    end_ns: Any
    attributes: dict[str, Any]
    status_code: int
    status_message: str


@dataclass
class Record:
    where: str
    resource: dict[str, Any]
    resource_where: str
    time_ns: Any
    observed_ns: Any
    severity_number: int
    severity_text: str
    body: Any
    attributes: dict[str, Any]
    trace_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Malformed(ValueError):
    """The payload is not OTLP: the message names where."""


# JSON encoding ------------------------------------------------------------------------------------


def _get(obj: dict[str, Any], camel: str) -> Any:
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


def _list(obj: Any, key: str, where: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise Malformed(f"{where}: must be an object")
    value = _get(obj, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{where}.{key}: must be a list")
    return value


def _json_any(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise Malformed(f"{where}: must be an AnyValue object")
    if "stringValue" in value or "string_value" in value:
        return _get(value, "stringValue")
    if "boolValue" in value or "bool_value" in value:
        return _get(value, "boolValue")
    if "intValue" in value or "int_value" in value:
        raw = _get(value, "intValue")
        if isinstance(raw, str) and raw.lstrip("-").isdigit() and len(raw) <= 20:
            return int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        raise Malformed(f"{where}.intValue: must be an integer")
    if "doubleValue" in value or "double_value" in value:
        raw = _get(value, "doubleValue")
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        raise Malformed(f"{where}.doubleValue: must be a number")
    if "arrayValue" in value or "array_value" in value:
        items = _list(_get(value, "arrayValue"), "values", f"{where}.arrayValue")
        return [_json_any(v, f"{where}.arrayValue.values[{i}]") for i, v in enumerate(items[:100])]
    if "kvlistValue" in value or "kvlist_value" in value:
        return _json_attributes(_get(value, "kvlistValue"), f"{where}.kvlistValue", key="values")
    if "bytesValue" in value or "bytes_value" in value:
        return str(_get(value, "bytesValue"))[:200]
    return None


def _json_attributes(obj: Any, where: str, key: str = "attributes") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, kv in enumerate(_list(obj, key, where)):
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise Malformed(f"{where}.{key}[{i}]: must be {{'key': ..., 'value': {{...}}}}")
        out[kv["key"]] = _json_any(kv.get("value", {}), f"{where}.{key}[{i}].value")
    return out


def _hex_id(value: Any, where: str, size: int) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) != size * 2:
        raise Malformed(f"{where}: must be {size * 2} hex digits")
    try:
        bytes.fromhex(value)
    except ValueError:
        raise Malformed(f"{where}: must be {size * 2} hex digits") from None
    return value.lower()


def _status(obj: Any, where: str) -> tuple[int, str]:
    if obj is None:
        return 0, ""
    if not isinstance(obj, dict):
        raise Malformed(f"{where}: must be an object")
    code = obj.get("code", 0)
    names = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
    code = names.get(code, code)
    if isinstance(code, bool) or not isinstance(code, int):
        raise Malformed(f"{where}.code: must be 0, 1 or 2")
    message = obj.get("message") or ""
    return code, message if isinstance(message, str) else str(message)


def spans_from_json(body: Any) -> list[Span]:
    spans: list[Span] = []
    if not isinstance(body, dict):
        raise Malformed("body: must be an ExportTraceServiceRequest object")
    for r, rs in enumerate(_list(body, "resourceSpans", "body")):
        for s, ss in enumerate(_list(rs, "scopeSpans", f"resourceSpans[{r}]")):
            for n, sp in enumerate(_list(ss, "spans", f"resourceSpans[{r}].scopeSpans[{s}]")):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                if not isinstance(sp, dict):
                    raise Malformed(f"{where}: must be an object")
                code, message = _status(sp.get("status"), f"{where}.status")
                spans.append(
                    Span(
                        where=where,
                        trace_id=_hex_id(_get(sp, "traceId"), f"{where}.traceId", 16),
                        span_id=_hex_id(_get(sp, "spanId"), f"{where}.spanId", 8),
                        parent_id=_hex_id(_get(sp, "parentSpanId"), f"{where}.parentSpanId", 8),
                        name=str(sp.get("name") or "")[:200],
                        start_ns=_get(sp, "startTimeUnixNano"),
                        end_ns=_get(sp, "endTimeUnixNano"),
                        attributes=_json_attributes(sp, where),
                        status_code=code,
                        status_message=message,
                    )
                )
    return spans


def records_from_json(body: Any) -> list[Record]:
    records: list[Record] = []
    if not isinstance(body, dict):
        raise Malformed("body: must be an ExportLogsServiceRequest object")
    for r, rl in enumerate(_list(body, "resourceLogs", "body")):
        if not isinstance(rl, dict):  # read before _list checks it: a null or a string here was a 500
            raise Malformed(f"resourceLogs[{r}]: must be an object")
        resource_where = f"resourceLogs[{r}].resource"
        resource = _json_attributes(_get(rl, "resource") or {}, resource_where)
        for s, sl in enumerate(_list(rl, "scopeLogs", f"resourceLogs[{r}]")):
            for n, lr in enumerate(_list(sl, "logRecords", f"resourceLogs[{r}].scopeLogs[{s}]")):
                where = f"resourceLogs[{r}].scopeLogs[{s}].logRecords[{n}]"
                if not isinstance(lr, dict):
                    raise Malformed(f"{where}: must be an object")
                number = _get(lr, "severityNumber") or 0
                if isinstance(number, str):
                    number = _SEVERITY_NAMES.get(number, 0)
                if isinstance(number, bool) or not isinstance(number, int):
                    raise Malformed(f"{where}.severityNumber: must be an integer from 0 to 24")
                body_value = _get(lr, "body")
                records.append(
                    Record(
                        where=where,
                        resource=resource,
                        resource_where=resource_where,
                        time_ns=_get(lr, "timeUnixNano"),
                        observed_ns=_get(lr, "observedTimeUnixNano"),
                        severity_number=number,
                        severity_text=str(_get(lr, "severityText") or ""),
                        body=None if body_value is None else _json_any(body_value, f"{where}.body"),
                        attributes=_json_attributes(lr, where),
                        trace_id=_hex_id(_get(lr, "traceId"), f"{where}.traceId", 16),
                    )
                )
    return records


_SEVERITY_NAMES = {
    f"SEVERITY_NUMBER_{name}{n if n > 1 else ''}": base + n - 1
    for name, base in (("TRACE", 1), ("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21))
    for n in range(1, 5)
}


# Protobuf encoding --------------------------------------------------------------------------------


def _pb_any(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_any(v) for v in value.array_value.values[:100]]
    if kind == "kvlist_value":
        return {kv.key: _pb_any(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()[:200]
    return getattr(value, kind)


def _pb_attributes(items: Any) -> dict[str, Any]:
    return {kv.key: _pb_any(kv.value) for kv in items}


def spans_from_protobuf(raw: bytes) -> list[Span]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    try:
        request = ExportTraceServiceRequest.FromString(raw)
    except DecodeError:
        raise Malformed("body: not a valid protobuf ExportTraceServiceRequest") from None
    spans = []
    for r, rs in enumerate(request.resource_spans):
        for s, ss in enumerate(rs.scope_spans):
            for n, sp in enumerate(ss.spans):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                for name, value, size in (("traceId", sp.trace_id, 16), ("spanId", sp.span_id, 8)):
                    if value and len(value) != size:
                        raise Malformed(f"{where}.{name}: must be {size} bytes")
                spans.append(
                    Span(
                        where=where,
                        trace_id=sp.trace_id.hex(),
                        span_id=sp.span_id.hex(),
                        parent_id=sp.parent_span_id.hex(),
                        name=sp.name[:200],
                        start_ns=sp.start_time_unix_nano,
                        end_ns=sp.end_time_unix_nano,
                        attributes=_pb_attributes(sp.attributes),
                        status_code=sp.status.code,
                        status_message=sp.status.message,
                    )
                )
    return spans


def records_from_protobuf(raw: bytes) -> list[Record]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    try:
        request = ExportLogsServiceRequest.FromString(raw)
    except DecodeError:
        raise Malformed("body: not a valid protobuf ExportLogsServiceRequest") from None
    records = []
    for r, rl in enumerate(request.resource_logs):
        resource = _pb_attributes(rl.resource.attributes)
        for s, sl in enumerate(rl.scope_logs):
            for n, lr in enumerate(sl.log_records):
                records.append(
                    Record(
                        where=f"resourceLogs[{r}].scopeLogs[{s}].logRecords[{n}]",
                        resource=resource,
                        resource_where=f"resourceLogs[{r}].resource",
                        time_ns=lr.time_unix_nano,
                        observed_ns=lr.observed_time_unix_nano,
                        severity_number=lr.severity_number,
                        severity_text=lr.severity_text,
                        body=_pb_any(lr.body) if lr.HasField("body") else None,
                        attributes=_pb_attributes(lr.attributes),
                        trace_id=lr.trace_id.hex() if len(lr.trace_id) == 16 else "",
                    )
                )
    return records


# Mapping ------------------------------------------------------------------------------------------


def keep_bounded(attributes: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Unknown attributes, as many as fit in ATTRIBUTES_MAX_BYTES (the rest counted, not kept)."""
    kept: dict[str, Any] = {}
    size, dropped = 2, 0
    for key, value in attributes.items():
        if key in skip or key.startswith("agent.measure."):
            continue
        try:
            piece = len(json.dumps({key: value}, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace"))
        except (TypeError, ValueError):
            dropped += 1
            continue
        if size + piece > fields.ATTRIBUTES_MAX_BYTES - 40 or fields.text_problem(key + json.dumps(value)):
            dropped += 1
            continue
        kept[key] = value
        size += piece
    if dropped:
        kept["_dropped_attributes"] = dropped
    return kept


def _times(errors: Errors, span: Span, now: dt.datetime) -> tuple[dt.datetime | None, float | None]:
    start = fields.from_unix_nano(errors, None, span.start_ns, f"{span.where}.startTimeUnixNano", now)
    end = fields.from_unix_nano(errors, None, span.end_ns, f"{span.where}.endTimeUnixNano", now)
    if start is None or end is None:
        return None, None
    duration = (int(span.end_ns) - int(span.start_ns)) / 1e6
    if duration < 0:
        errors.add(None, f"{span.where}.endTimeUnixNano", "is before startTimeUnixNano (negative duration)")
        return None, None
    return start, duration


def map_spans(spans: list[Span], now: dt.datetime, errors: Errors) -> tuple[list[ingest.RunRow], list[ingest.CallRow]]:
    """Agent runs and model calls of a batch; errors added (with their place) instead of raising."""
    genai = [s for s in spans if s.attributes.get("gen_ai.operation.name") is not None]
    names = {n for s in genai if isinstance(n := s.attributes.get("gen_ai.agent.name"), str)}
    lookup = ingest.Lookup(agent_names=names)
    runs: dict[str, ingest.RunRow] = {}
    calls: list[tuple[Span, ingest.CallRow]] = []
    for span in genai:
        a = span.attributes
        at = f"{span.where}.attributes"
        operation = a.get("gen_ai.operation.name")
        if not isinstance(operation, str):
            errors.add(None, f"{at}.gen_ai.operation.name", "must be a string")
            continue
        if operation != AGENT_OPERATION and operation not in MODEL_OPERATIONS:
            continue
        count = len(errors)
        agent = None
        name = a.get("gen_ai.agent.name")
        if name is not None or operation == AGENT_OPERATION:
            agent = lookup.agent(name)
            if name is None:
                errors.add(None, f"{at}.gen_ai.agent.name", "is required on an invoke_agent span")
            elif agent is None:
                errors.add(None, f"{at}.gen_ai.agent.name", f"unknown agent {str(name)[:60]!r}")
        start, duration = _times(errors, span, now)
        provider = fields.text(
            errors,
            None,
            a.get("gen_ai.provider.name", a.get("gen_ai.system")),
            f"{at}.gen_ai.provider.name",
            max_length=50,
        )
        model = fields.text(
            errors,
            None,
            a.get("gen_ai.request.model", a.get("gen_ai.response.model")),
            f"{at}.gen_ai.request.model",
            max_length=100,
        )
        tokens = [
            fields.number(
                errors,
                None,
                a.get(f"gen_ai.usage.{k}_tokens"),
                f"{at}.gen_ai.usage.{k}_tokens",
                maximum=1e12,
                integer=True,
            )
            for k in ("input", "output")
        ]
        failed = span.status_code == STATUS_ERROR
        message = span.status_message or (str(a.get("error.type")) if failed and a.get("error.type") else "")
        if operation in MODEL_OPERATIONS:
            if not provider:
                errors.add(None, f"{at}.gen_ai.provider.name", "is required on a model call span")
            if len(errors) == count and start is not None:
                call = ingest.CallRow(
                    at=start,
                    provider=provider,
                    model=model,
                    agent_id=agent.pk if agent is not None else None,
                    duration_ms=duration or 0.0,
                    tokens_in=tokens[0],
                    tokens_out=tokens[1],
                    ok=not failed,
                    trace_id=span.trace_id,
                    span_id=span.span_id,
                )
                calls.append((span, call))
            continue
        verdict = a.get("agent.qa.verdict")
        if verdict is not None and verdict not in (QaVerdict.APPROVED, QaVerdict.REJECTED):
            errors.add(None, f"{at}.agent.qa.verdict", "must be approved or rejected")
        measures = {}
        for key, value in a.items():
            if key.startswith("agent.measure.") and len(measures) < ingest.MAX_MEASURES:
                measures[key[len("agent.measure.") :][:50]] = fields.number(
                    errors, None, value, f"{at}.{key[:80]}", minimum=-1e12, maximum=1e12
                )
        run = ingest.RunRow(
            agent_id=agent.pk if agent is not None else None,
            started_at=start or now,
            duration_ms=duration or 0.0,
            peak_memory_mb=fields.number(
                errors, None, a.get("agent.memory.peak_mb"), f"{at}.agent.memory.peak_mb", maximum=1e7
            ),
            critique_iterations=fields.number(
                errors,
                None,
                a.get("agent.critique.iterations"),
                f"{at}.agent.critique.iterations",
                maximum=10000,
                integer=True,
            ),
            critique_seconds=fields.number(
                errors, None, a.get("agent.critique.seconds"), f"{at}.agent.critique.seconds", maximum=7 * 86400
            ),
            qa_verdict=verdict if verdict in (QaVerdict.APPROVED, QaVerdict.REJECTED) else "",
            quality_score=fields.number(
                errors, None, a.get("agent.quality.score"), f"{at}.agent.quality.score", maximum=100
            ),
            provider=provider,
            model=model,
            tokens_in=tokens[0],
            tokens_out=tokens[1],
            cost_usd=fields.number(errors, None, a.get("agent.cost.usd"), f"{at}.agent.cost.usd", maximum=1e9),
            ok=not failed,
            error=fields.text(errors, None, message, f"{span.where}.status.message", max_length=500, truncate=True),
            measures=measures,
            attributes=keep_bounded(a, KNOWN),
            source=RunSource.OTLP,
            external_id=str(a.get("agent.run.id") or span.span_id)[:100],
            trace_id=span.trace_id,
            received_at=now,
        )
        if len(errors) == count:
            runs[span.span_id] = run
    for span, call in calls:
        parent = runs.get(span.parent_id)
        if parent is not None:
            call.agent_id = call.agent_id or parent.agent_id
            parent.model_calls += 1
            parent.provider = parent.provider or call.provider
            parent.model = parent.model or call.model
            parent.tokens_in = (parent.tokens_in or 0) + (call.tokens_in or 0) if call.tokens_in else parent.tokens_in
            parent.tokens_out = (
                (parent.tokens_out or 0) + (call.tokens_out or 0) if call.tokens_out else parent.tokens_out
            )
    return list(runs.values()), [c for _s, c in calls]


def map_records(records: list[Record], now: dt.datetime, errors: Errors) -> list[ingest.LogRow]:
    """Log lines of a batch: the service from ``service.name`` (a service slug, or an agent's name)."""
    service_names = {n for r in records if isinstance(n := r.resource.get("service.name"), str)}
    agent_names = service_names | {n for r in records if isinstance(n := r.attributes.get("gen_ai.agent.name"), str)}
    lookup = ingest.Lookup(agent_names=agent_names, service_names=service_names)
    lines = []
    limit = ingest.max_message_bytes()
    for record in records:
        count = len(errors)
        service_name = record.resource.get("service.name")
        service = lookup.service(service_name)
        agent = lookup.agent(record.attributes.get("gen_ai.agent.name"))
        if record.attributes.get("gen_ai.agent.name") is not None and agent is None:
            errors.add(None, f"{record.where}.attributes.gen_ai.agent.name", "unknown agent")
        if service is None:
            by_agent = lookup.agent(service_name)
            if by_agent is not None and by_agent.service_id:
                service, agent = by_agent.service, agent or by_agent
            else:
                what = "is required" if service_name is None else f"unknown service {str(service_name)[:60]!r}"
                errors.add(None, f"{record.resource_where}.attributes.service.name", what)
        level = ingest.normal_level(record.severity_text) if record.severity_text else None
        if level is None:
            level = level_from_severity_number(record.severity_number) if record.severity_number else LogLevel.INFO
        body = record.body
        message = body if isinstance(body, str) else ("" if body is None else json.dumps(body, default=str))
        ingest.check_message(message, limit)
        message = fields.text(errors, None, message, f"{record.where}.body", max_length=limit)
        stamp = record.time_ns if record.time_ns not in (None, 0, "0") else record.observed_ns
        at = now
        if stamp not in (None, 0, "0"):
            at = fields.from_unix_nano(errors, None, stamp, f"{record.where}.timeUnixNano", now) or now
        if len(errors) == count and service is not None:
            attributes = keep_bounded(record.attributes, {"gen_ai.agent.name"})
            lines.append(
                ingest.LogRow(
                    at=at,
                    service_id=service.pk,
                    agent_id=agent.pk if agent is not None else None,
                    level=level,
                    message=message,
                    attributes=attributes,
                    trace_id=record.trace_id,
                    received_at=now,
                )
            )
    return lines
