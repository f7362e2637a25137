"""Agent runs and log lines in: validating native JSON items into rows and storing a batch whole.

Every path (native JSON here, OTLP in otlp.py, polling in polling.py) ends in ``store_runs`` /
``store_logs``: one transaction, resent runs (same agent and external id) ignored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from django.db import IntegrityError, connection, models, transaction

from ..services.models import Service
from . import conf, fields
from .choices import LEVEL_ALIASES, LogLevel, QaVerdict, RunSource
from .fields import Errors
from .models import Agent, AgentRun, LogLine, ModelCall

RUN_FIELDS = {
    "agent",
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
}
LOG_FIELDS = {"service", "agent", "level", "message", "at", "attributes", "trace_id"}
MAX_DURATION_MS = 7 * 86400 * 1000.0
MAX_MEASURES = 20


def max_runs() -> int:
    return conf.AGENT_INGEST_MAX_BATCH.get()


def max_log_lines() -> int:
    return conf.LOG_INGEST_MAX_BATCH.get()


def max_message_bytes() -> int:
    return conf.LOG_MAX_MESSAGE_BYTES.get()


@dataclass(slots=True)
class RunRow:
    """An agent run ready for COPY (AgentRun's column attribute names), without a model instance."""

    agent_id: int | None = None
    started_at: dt.datetime | None = None
    duration_ms: float = 0.0
    peak_memory_mb: float | None = None
    critique_iterations: int | None = None
    critique_seconds: float | None = None
    qa_verdict: str = ""
    quality_score: float | None = None
    provider: str = ""
    model: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    ok: bool = True
    error: str = ""
    model_calls: int = 0
    measures: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = RunSource.API
    external_id: str = ""
    trace_id: str = ""
    received_at: dt.datetime | None = None


@dataclass(slots=True)
class CallRow:
    """A model call ready for COPY (ModelCall's column attribute names)."""

    at: dt.datetime
    provider: str
    model: str
    agent_id: int | None
    duration_ms: float
    tokens_in: int | None
    tokens_out: int | None
    ok: bool
    trace_id: str
    span_id: str


@dataclass(slots=True)
class LogRow:
    """A log line ready for COPY (the attribute names of LogLine's columns), without a model instance:
    building 1,000 model instances per batch cost more than storing them."""

    at: dt.datetime
    service_id: int
    agent_id: int | None
    level: str
    message: str
    attributes: dict[str, Any]
    trace_id: str
    received_at: dt.datetime


class Lookup:
    """Agents and services by name, loaded once per batch."""

    def __init__(self, agent_names: Iterable[str] = (), service_names: Iterable[str] = ()) -> None:
        names = {n for n in agent_names if isinstance(n, str)}
        self.agents: dict[str, Agent] = {}
        if names:
            for agent in Agent.objects.filter(slug__in=names) | Agent.objects.filter(name__in=names):
                self.agents[agent.slug] = agent
                self.agents.setdefault(agent.name, agent)
        slugs = {n for n in service_names if isinstance(n, str)}
        self.services: dict[str, Service] = {s.slug: s for s in Service.objects.filter(slug__in=slugs)} if slugs else {}

    def agent(self, name: Any) -> Agent | None:
        return self.agents.get(name) if isinstance(name, str) else None

    def service(self, slug: Any) -> Service | None:
        return self.services.get(slug) if isinstance(slug, str) else None


def check_batch_size(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise fields.PayloadTooLarge(f"the batch has {count} {what}; at most {limit} are accepted at once")


# Runs -----------------------------------------------------------------------------------------


def run_from_item(item: Any, index: int, errors: Errors, lookup: Lookup, now: dt.datetime) -> RunRow | None:
    """One native run object as an unsaved AgentRun, or None (with errors added)."""
    if not isinstance(item, dict):
        errors.add(index, "run", 'must be an object like {"agent": "content", "duration_ms": 4200}')
        return None
    count = len(errors)
    for unknown in sorted(set(item) - RUN_FIELDS, key=str)[:10]:
        errors.add(index, str(unknown)[:50], "unknown field")
    agent = lookup.agent(item.get("agent"))
    if item.get("agent") is None:
        errors.add(index, "agent", "is required")
    elif agent is None:
        errors.add(index, "agent", f"unknown agent {str(item.get('agent'))[:60]!r}")
    if "duration_ms" in item and "duration_seconds" in item:
        errors.add(index, "duration_ms", "send duration_ms or duration_seconds, not both")
    if "duration_seconds" in item:
        seconds = fields.number(
            errors, index, item["duration_seconds"], "duration_seconds", maximum=MAX_DURATION_MS / 1000, required=True
        )
        duration = None if seconds is None else seconds * 1000.0
    else:
        duration = fields.number(
            errors, index, item.get("duration_ms"), "duration_ms", maximum=MAX_DURATION_MS, required=True
        )
    started = now
    if item.get("started_at") is not None:
        started = fields.moment(errors, index, item["started_at"], "started_at", now) or now
    verdict = item.get("qa_verdict")
    if verdict is not None and verdict not in (QaVerdict.APPROVED, QaVerdict.REJECTED):
        errors.add(index, "qa_verdict", "must be approved, rejected or null")
    measures = fields.attributes(errors, index, item.get("measures"), "measures")
    if len(measures) > MAX_MEASURES:
        errors.add(index, "measures", f"at most {MAX_MEASURES} measures")
    for name, value in measures.items():
        fields.number(errors, index, value, f"measures.{str(name)[:40]}", minimum=-1e12, maximum=1e12)
    run = RunRow(
        agent_id=agent.pk if agent is not None else None,
        started_at=started,
        duration_ms=duration or 0.0,
        peak_memory_mb=fields.number(errors, index, item.get("peak_memory_mb"), "peak_memory_mb", maximum=1e7),
        critique_iterations=fields.number(
            errors, index, item.get("critique_iterations"), "critique_iterations", maximum=10000, integer=True
        ),
        critique_seconds=fields.number(
            errors, index, item.get("critique_seconds"), "critique_seconds", maximum=MAX_DURATION_MS / 1000
        ),
        qa_verdict=verdict or "",
        quality_score=fields.number(errors, index, item.get("quality_score"), "quality_score", maximum=100),
        provider=fields.text(errors, index, item.get("provider"), "provider", max_length=50),
        model=fields.text(errors, index, item.get("model"), "model", max_length=100),
        tokens_in=fields.number(errors, index, item.get("tokens_in"), "tokens_in", maximum=1e12, integer=True),
        tokens_out=fields.number(errors, index, item.get("tokens_out"), "tokens_out", maximum=1e12, integer=True),
        cost_usd=fields.number(errors, index, item.get("cost_usd"), "cost_usd", maximum=1e9),
        error=fields.text(errors, index, item.get("error"), "error", max_length=500, truncate=True),
        measures=measures,
        attributes=fields.attributes(errors, index, item.get("attributes"), "attributes"),
        source=RunSource.API,
        external_id=fields.text(errors, index, item.get("id"), "id", max_length=100),
        trace_id=fields.text(errors, index, item.get("trace_id"), "trace_id", max_length=32),
        received_at=now,
    )
    ok = fields.boolean(errors, index, item.get("ok"), "ok")
    run.ok = (not run.error) if ok is None else ok
    return run if len(errors) == count else None


def _instances(model: type[models.Model], rows: list[Any]) -> list[models.Model]:
    return [model(**{f.name: getattr(r, f.name) for f in dataclass_fields(r)}) for r in rows]


def store_runs(runs: list[RunRow], calls: Iterable[CallRow] = ()) -> int:
    """Store a batch in one transaction; runs already stored (same agent and id) are skipped."""
    calls = list(calls)
    keyed = {(r.agent_id, r.external_id) for r in runs if r.external_id}
    with transaction.atomic():
        if keyed:
            seen = set(
                AgentRun.objects.filter(
                    agent_id__in={a for a, _ in keyed}, external_id__in={e for _, e in keyed}
                ).values_list("agent_id", "external_id")
            )
            runs = [r for r in runs if not r.external_id or (r.agent_id, r.external_id) not in seen]
        try:
            with transaction.atomic():
                copy_rows(AgentRun, runs)
        except IntegrityError:
            # The same run sent at the same moment by two requests: stored once.
            AgentRun.objects.bulk_create(_instances(AgentRun, runs), batch_size=1000, ignore_conflicts=True)
        if calls:
            try:
                with transaction.atomic():
                    copy_rows(ModelCall, calls)
            except IntegrityError:
                ModelCall.objects.bulk_create(_instances(ModelCall, calls), batch_size=1000, ignore_conflicts=True)
    return len(runs)


def copy_rows(model: type[models.Model], objs: list[Any]) -> None:
    """Insert unsaved rows: PostgreSQL's COPY (a batch of 1,000 rows in milliseconds, where building
    the INSERT costs Django more than the database), bulk_create elsewhere."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(_instances(model, objs), batch_size=1000)
        return
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in concrete)
    table = connection.ops.quote_name(model._meta.db_table)
    json_fields = {f.attname for f in concrete if isinstance(f, models.JSONField)}
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for obj in objs:
                copy.write_row(
                    [
                        json.dumps(getattr(obj, f.attname), ensure_ascii=False)
                        if f.attname in json_fields
                        else getattr(obj, f.attname)
                        for f in concrete
                    ]
                )


# Logs -----------------------------------------------------------------------------------------


LEVELS = frozenset(LogLevel.values)


def normal_level(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    level = value.strip().lower()
    level = LEVEL_ALIASES.get(level, level)
    return level if level in LEVELS else None


def check_message(message: str, limit: int) -> None:
    if len(message) * 4 > limit and len(message.encode("utf-8", "surrogatepass")) > limit:
        raise fields.PayloadTooLarge(f"a log message is over {limit} bytes")


def log_from_item(item: Any, index: int, errors: Errors, lookup: Lookup, now: dt.datetime, limit: int) -> LogRow | None:
    """One native log line as a row to store, or None (with errors added); ``limit``: max message bytes."""
    if not isinstance(item, dict):
        errors.add(index, "line", 'must be an object like {"service": "api", "level": "error", "message": "..."}')
        return None
    count = len(errors)
    for unknown in sorted(set(item) - LOG_FIELDS, key=str)[:10]:
        errors.add(index, str(unknown)[:50], "unknown field")
    agent = None
    if item.get("agent") is not None:
        agent = lookup.agent(item["agent"])
        if agent is None:
            errors.add(index, "agent", f"unknown agent {str(item['agent'])[:60]!r}")
    service = lookup.service(item.get("service"))
    if item.get("service") is None:
        if agent is not None and agent.service_id:
            service = agent.service
        elif agent is not None:
            errors.add(index, "service", "is required (the agent is tied to no service)")
        else:
            errors.add(index, "service", "is required")
    elif service is None:
        errors.add(index, "service", f"unknown service {str(item.get('service'))[:60]!r}")
    level = normal_level(item.get("level", "info"))
    if level is None:
        errors.add(index, "level", f"must be one of {', '.join(LogLevel.values)}")
    message = item.get("message")
    if isinstance(message, str):
        check_message(message, limit)
    message = fields.text(errors, index, message, "message", max_length=limit, required=True)
    at = now
    if item.get("at") is not None:
        at = fields.moment(errors, index, item["at"], "at", now) or now
    if len(errors) != count or service is None:
        return None
    return LogRow(
        at=at,
        service_id=service.pk,
        agent_id=agent.pk if agent is not None else None,
        level=level or "info",
        message=message,
        attributes=fields.attributes(errors, index, item.get("attributes"), "attributes"),
        trace_id=fields.text(errors, index, item.get("trace_id"), "trace_id", max_length=32),
        received_at=now,
    )


def store_logs(lines: list[LogRow]) -> int:
    with transaction.atomic():
        copy_rows(LogLine, lines)
    return len(lines)
