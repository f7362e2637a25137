"""POST /api/v1/ingest/agent-runs and /api/v1/ingest/logs: good batches stored, bad ones refused whole."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.models import AgentRun, LogLine
from tests.agents.helpers import post_json, tie_agents

pytestmark = pytest.mark.django_db

RUNS = "monitoring:api_ingest_agent_runs"
LOGS = "monitoring:api_ingest_logs"


@pytest.fixture
def token(token_for: Any) -> str:
    tie_agents()
    return token_for("editor")


def a_run(**extra: Any) -> dict[str, Any]:
    run = {
        "agent": "content",
        "id": "run-1",
        "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).isoformat(),
        "duration_ms": 42000,
        "peak_memory_mb": 212.5,
        "critique_iterations": 2,
        "qa_verdict": "approved",
        "quality_score": 86,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "tokens_in": 1200,
        "tokens_out": 800,
        "cost_usd": 0.0123,
        "measures": {"readability": 71.5},
    }
    run.update(extra)
    return run


def test_a_batch_of_runs_is_stored_with_every_field(token: str) -> None:
    response = post_json(RUNS, {"runs": [a_run(), a_run(id="run-2", agent="qa", qa_verdict=None)]}, token)
    assert response.status_code == 201, response.content
    assert response.json() == {"stored": 2, "duplicates": 0}
    run = AgentRun.objects.get(external_id="run-1")
    assert (run.agent.slug, run.duration_ms, run.peak_memory_mb, run.critique_iterations) == (
        "content",
        42000,
        212.5,
        2,
    )
    assert (run.qa_verdict, run.quality_score, run.provider, run.model) == ("approved", 86, "openai", "gpt-4o-mini")
    assert (run.tokens_in, run.tokens_out, run.cost_usd, run.ok, run.source) == (1200, 800, 0.0123, True, "api")
    assert run.measures == {"readability": 71.5}


def test_a_resent_run_is_not_stored_twice(token: str) -> None:
    assert post_json(RUNS, [a_run()], token).json() == {"stored": 1, "duplicates": 0}
    assert post_json(RUNS, [a_run()], token).json() == {"stored": 0, "duplicates": 1}
    assert AgentRun.objects.count() == 1


def test_an_error_marks_the_run_failed_and_duration_seconds_is_accepted(token: str) -> None:
    response = post_json(RUNS, [a_run(id="x", duration_ms=None, duration_seconds=3.5, error="boom " * 200)], token)
    assert response.status_code == 400  # duration_ms: null next to duration_seconds is "both"
    response = post_json(RUNS, [{"agent": "market", "duration_seconds": 3.5, "error": "boom " * 200}], token)
    assert response.status_code == 201, response.content
    run = AgentRun.objects.get()
    assert run.duration_ms == 3500 and run.ok is False and len(run.error) == 500


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"agent": "nobody"}, "agent", "unknown agent"),
        ({"duration_ms": -1}, "duration_ms", "negative"),
        ({"duration_ms": "42"}, "duration_ms", "number"),
        ({"tokens_in": 10**400}, "tokens_in", "at most"),
        ({"tokens_in": 1.5}, "tokens_in", "whole number"),
        ({"started_at": "2099-01-01T00:00:00Z"}, "started_at", "future"),
        ({"started_at": "yesterday"}, "started_at", "ISO-8601"),
        ({"started_at": "2026-12-01T19:00:00+23:59"}, "started_at", "offset"),
        ({"qa_verdict": "meh"}, "qa_verdict", "approved, rejected"),
        ({"quality_score": 101}, "quality_score", "at most 100"),
        ({"model": "gpt\x00"}, "model", "NUL"),
        ({"model": "\ud800"}, "model", "surrogate"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"measures": {"accuracy": "high"}}, "measures.accuracy", "number"),
        ({"ok": "yes"}, "ok", "true or false"),
    ],
)
def test_a_bad_run_refuses_the_whole_batch_naming_the_field(
    token: str, change: dict[str, Any], field: str, words: str
) -> None:
    response = post_json(RUNS, [a_run(id="good"), a_run(id="bad", **change)], token)
    assert response.status_code == 400, response.content
    body = response.json()
    assert "nothing was stored" in body["error"]
    assert any(e["index"] == 1 and e["field"] == field and words in e["message"] for e in body["errors"]), body
    assert not AgentRun.objects.exists()


def test_malformed_bodies_get_a_json_400(token: str) -> None:
    for body in ("{", '{"runs": {}}', "[]", '"x"'):
        response = post_json(RUNS, body, token)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] in ("body", "runs")


@override_settings(AGENT_INGEST_MAX_BATCH=5, LOG_INGEST_MAX_BATCH=3, LOG_MAX_MESSAGE_BYTES=100)
def test_oversized_batches_and_lines_get_413(token: str) -> None:
    response = post_json(RUNS, [a_run(id=str(i)) for i in range(6)], token)
    assert response.status_code == 413 and "at most 5" in response.json()["error"]
    lines = [{"service": "agents", "message": "x"} for _ in range(4)]
    assert post_json(LOGS, lines, token).status_code == 413
    response = post_json(LOGS, [{"service": "agents", "message": "é" * 60}], token)
    assert response.status_code == 413 and "100 bytes" in response.json()["error"]
    assert not AgentRun.objects.exists() and not LogLine.objects.exists()


def test_log_lines_are_stored_with_agent_and_service(token: str) -> None:
    lines = [
        {"service": "agents", "level": "ERROR", "message": "model router fallback chain exhausted", "agent": "content"},
        {"agent": "market", "level": "warn", "message": "slow trend source", "attributes": {"source": "feed-3"}},
        {"service": "agents", "message": "started", "at": dt.datetime.now(dt.UTC).timestamp() - 5},
    ]
    response = post_json(LOGS, {"logs": lines}, token)
    assert response.status_code == 201, response.content
    stored = {line.message: line for line in LogLine.objects.select_related("agent", "service")}
    assert stored["model router fallback chain exhausted"].level == "error"
    assert stored["slow trend source"].service.slug == "agents"  # from the agent's service
    assert stored["slow trend source"].attributes == {"source": "feed-3"} and stored["started"].level == "info"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"service": "nope", "message": "x"}, "service"),
        ({"message": "x"}, "service"),
        ({"service": "agents", "agent": "ghost", "message": "x"}, "agent"),
        ({"service": "agents", "level": "loud", "message": "x"}, "level"),
        ({"service": "agents"}, "message"),
        ({"service": "agents", "message": 42}, "message"),
        ({"service": "agents", "message": "x", "at": "2099-01-01T00:00:00Z"}, "at"),
        ({"service": "agents", "message": "x", "attributes": [1]}, "attributes"),
    ],
)
def test_a_bad_log_line_refuses_the_batch(token: str, line: dict[str, Any], field: str) -> None:
    response = post_json(LOGS, [{"service": "agents", "message": "fine"}, line], token)
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not LogLine.objects.exists()


def test_a_viewer_token_may_not_ingest(token_for: Any) -> None:
    assert post_json(RUNS, [a_run()], token_for("viewer")).status_code == 403
    assert post_json(RUNS, [a_run()], None).status_code == 401


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
RUN_KEYS = st.sampled_from(sorted(["agent", "duration_ms", "started_at", "tokens_in", "qa_verdict", "error", "id"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.dictionaries(RUN_KEYS, JSONISH, max_size=7), min_size=1, max_size=4) | JSONISH)
def test_generated_bodies_never_get_a_5xx_and_refusals_store_nothing(token: str, body: Any) -> None:
    before = AgentRun.objects.count()
    response = post_json(RUNS, json.dumps(body), token)
    assert response.status_code < 500
    if response.status_code != 201:
        assert AgentRun.objects.count() == before


LOG_KEYS = st.sampled_from(sorted(["service", "agent", "level", "message", "at", "attributes", "trace_id"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(st.dictionaries(LOG_KEYS, JSONISH | st.just("agents"), max_size=7), min_size=1, max_size=4) | JSONISH
)
def test_generated_log_bodies_never_get_a_5xx_and_refusals_store_nothing(token: str, body: Any) -> None:
    before = LogLine.objects.count()
    response = post_json(LOGS, json.dumps(body), token)
    assert response.status_code < 500, response.content
    if response.status_code != 201:
        assert LogLine.objects.count() == before
