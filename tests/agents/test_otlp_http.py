"""POST /v1/traces and /v1/logs as the OTLP/HTTP spec describes them: JSON and protobuf, gzip, and
refusals (400 naming the field with a google.rpc.Status, 413, 415) that store nothing."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from django.test import Client, override_settings
from google.rpc.status_pb2 import Status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.models import AgentRun, LogLine, ModelCall
from tests.agents.helpers import tie_agents

pytestmark = pytest.mark.django_db

TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def token(token_for: Any) -> str:
    tie_agents("agents")
    return token_for("editor")


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def span(span_id: str, attributes: dict[str, Any], parent: str = "", seconds: float = 12.5, **extra: Any) -> dict:
    end = time.time_ns()
    body = {
        "traceId": TRACE,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": "invoke_agent",
        "kind": 1,
        "startTimeUnixNano": str(end - int(seconds * 1e9)),
        "endTimeUnixNano": str(end),
        "attributes": [attr(k, v) for k, v in attributes.items()],
        "status": {"code": 1},
    }
    body.update(extra)
    return body


def traces(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", "cofounder-agent")]},
                "scopeSpans": [{"scope": {"name": "agents"}, "spans": list(spans)}],
            }
        ]
    }


def run_span(span_id: str = "b7ad6b7169203331", **attributes: Any) -> dict[str, Any]:
    return span(span_id, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "content", **attributes})


def post(path: str, body: Any, token: str, ctype: str = "application/json", **headers: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().post(path, data=raw, content_type=ctype, HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def test_otlp_json_spans_become_runs(token: str) -> None:
    chat = span(
        "00f067aa0ba902b7",
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": 50},
        parent="b7ad6b7169203331",
        seconds=2,
    )
    response = post("/v1/traces", traces(run_span(**{"agent.critique.iterations": 3}), chat), token)
    assert response.status_code == 200 and response.json() == {}
    run = AgentRun.objects.get()
    assert (run.source, run.external_id, run.trace_id) == ("otlp", "b7ad6b7169203331", TRACE)
    assert 12400 < run.duration_ms < 12600 and run.critique_iterations == 3
    assert (run.provider, run.tokens_in, run.model_calls) == ("anthropic", 50, 1)
    assert ModelCall.objects.get().agent == run.agent
    assert post("/v1/traces", traces(run_span()), token).status_code == 200  # an exporter's retry
    assert AgentRun.objects.count() == 1


def test_gzip_bodies_are_accepted(token: str) -> None:
    response = post(
        "/v1/traces", gzip.compress(json.dumps(traces(run_span())).encode()), token, HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 200, response.content
    assert AgentRun.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"gen_ai.agent.name": "nobody"}, "attributes.gen_ai.agent.name", "unknown agent"),
        ({"gen_ai.agent.name": None}, "attributes.gen_ai.agent.name", "is required"),
        ({"gen_ai.usage.input_tokens": "many"}, "attributes.gen_ai.usage.input_tokens", "number"),
        ({"gen_ai.usage.input_tokens": -5}, "attributes.gen_ai.usage.input_tokens", "negative"),
        ({"agent.qa.verdict": "fine"}, "attributes.agent.qa.verdict", "approved or rejected"),
    ],
)
def test_bad_genai_spans_refuse_the_batch_naming_the_field(
    token: str, change: dict[str, Any], field: str, words: str
) -> None:
    attributes = {k: v for k, v in change.items() if v is not None}
    bad = span(
        "c7ad6b7169203332", {"gen_ai.operation.name": "invoke_agent", **({"gen_ai.agent.name": "content"} | attributes)}
    )
    if change.get("gen_ai.agent.name", "") is None:
        bad["attributes"] = [a for a in bad["attributes"] if a["key"] != "gen_ai.agent.name"]
    response = post("/v1/traces", traces(run_span(), bad), token)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == 3 and "nothing stored" in body["message"]
    full = f"resourceSpans[0].scopeSpans[0].spans[1].{field}"
    assert any(e["field"] == full and words in e["message"] for e in body["errors"]), body
    assert full in body["message"]
    assert not AgentRun.objects.exists()


def test_negative_duration_and_far_future_times_are_refused(token: str) -> None:
    backwards = run_span()
    backwards.update(startTimeUnixNano=str(time.time_ns()), endTimeUnixNano=str(time.time_ns() - 10**9))
    response = post("/v1/traces", traces(backwards), token)
    assert response.status_code == 400 and "negative duration" in response.json()["message"]
    future = run_span()
    future["endTimeUnixNano"] = str(time.time_ns() + 3600 * 10**9)
    response = post("/v1/traces", traces(future), token)
    assert (
        response.status_code == 400
        and "endTimeUnixNano: is more than 5 minutes in the future" in response.json()["message"]
    )
    assert not AgentRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"resourceSpans": {}}, "body.resourceSpans: must be a list"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}, "traceId: must be 32 hex digits"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"value": {}}]}]}]}]}, "attributes[0]"),
        ([1, 2], "must be an ExportTraceServiceRequest"),
    ],
)
def test_malformed_otlp_json_gets_400_naming_where(token: str, body: Any, words: str) -> None:
    response = post("/v1/traces", body, token)
    assert response.status_code == 400 and words in response.json()["message"], response.content


@pytest.mark.parametrize("entry", [None, "x", True, 3])
def test_a_resource_logs_entry_that_is_not_an_object_is_a_400(token: str, entry: Any) -> None:
    """Was a 500: the resource was read from the entry before the entry was checked (found by the hostile-bodies test)."""
    response = post("/v1/logs", {"resourceLogs": [entry]}, token)
    assert response.status_code == 400 and "resourceLogs[0]: must be an object" in response.json()["message"]
    assert not LogLine.objects.exists()


def test_a_body_the_parser_refuses_is_answered_as_a_status(token: str) -> None:
    """Was the JSON API's {"error", "errors"} without code and message (found by schemathesis)."""
    response = post("/v1/logs", b'{"resourceLogs": [], "x\\u0000": 1}', token)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3 and "NUL" in body["message"] and body["details"] == []
    assert body["errors"] == [{"field": "body", "message": "a key contains a NUL character (\\u0000)"}]


def test_malformed_protobuf_gets_a_status_message(token: str) -> None:
    response = post("/v1/traces", b"\xff\xff\xff not protobuf", token, ctype="application/x-protobuf")
    assert response.status_code == 400 and response["Content-Type"] == "application/x-protobuf"
    status = Status.FromString(response.content)
    assert status.code == 3 and "not a valid protobuf ExportTraceServiceRequest" in status.message


def test_other_content_types_get_415_and_oversized_bodies_413(token: str) -> None:
    assert post("/v1/traces", b"hello", token, ctype="text/plain").status_code == 415
    assert post("/v1/logs", b"{}", token, HTTP_CONTENT_ENCODING="br").status_code == 415
    with override_settings(OTLP_MAX_BYTES=1000):
        big = traces(*[run_span(f"{i:016x}") for i in range(20)])
        assert post("/v1/traces", big, token).status_code == 413
        bomb = gzip.compress(b'{"resourceSpans": [' + b" " * 50_000 + b"]}")
        assert len(bomb) < 1000
        response = post("/v1/traces", bomb, token, ctype="application/json", HTTP_CONTENT_ENCODING="gzip")
        assert response.status_code == 413 and "decompressed" in response.json()["message"]
    assert not AgentRun.objects.exists()


def logs_body(*records: dict[str, Any], service: str = "agents") -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [attr("service.name", service)]},
                "scopeLogs": [{"scope": {"name": "filelog"}, "logRecords": list(records)}],
            }
        ]
    }


def record(message: str, **extra: Any) -> dict[str, Any]:
    return {"timeUnixNano": str(time.time_ns()), "body": {"stringValue": message}, **extra}


def test_otlp_json_logs_as_the_collector_sends_them(token: str) -> None:
    body = logs_body(
        record("agent crashed", severityNumber=17, attributes=[attr("gen_ai.agent.name", "content")]),
        record("warming up", severityText="WARN"),
        record("plain line from tail -f", observedTimeUnixNano=str(time.time_ns()), timeUnixNano="0"),
    )
    response = post("/v1/logs", body, token)
    assert response.status_code == 200, response.content
    lines = {line.message: line for line in LogLine.objects.select_related("agent")}
    assert lines["agent crashed"].level == "error" and lines["agent crashed"].agent.slug == "content"
    assert lines["warming up"].level == "warning" and lines["plain line from tail -f"].level == "info"


def test_otlp_logs_naming_an_agent_as_the_service_land_on_its_service(token: str) -> None:
    assert post("/v1/logs", logs_body(record("hi"), service="market"), token).status_code == 200
    line = LogLine.objects.select_related("agent", "service").get()
    assert line.agent.slug == "market" and line.service.slug == "agents"


def test_otlp_logs_for_an_unknown_service_are_refused(token: str) -> None:
    response = post("/v1/logs", logs_body(record("x"), service="ghost"), token)
    assert response.status_code == 400
    assert "resourceLogs[0].resource.attributes.service.name: unknown service 'ghost'" in response.json()["message"]
    with override_settings(LOG_MAX_MESSAGE_BYTES=10):
        assert post("/v1/logs", logs_body(record("far too long a line")), token).status_code == 413
    assert not LogLine.objects.exists()


def test_otlp_needs_an_ingest_token(token_for: Any) -> None:
    assert Client().post("/v1/traces", data=b"{}", content_type="application/json").status_code == 401
    viewer = token_for("viewer")
    assert post("/v1/traces", traces(), viewer).status_code == 403


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)
ANY_VALUE = st.fixed_dictionaries(
    {}, optional={"stringValue": JSONISH, "intValue": JSONISH, "doubleValue": JSONISH, "arrayValue": JSONISH}
)
GENAI_KEYS = st.sampled_from(
    ["gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.usage.input_tokens", "agent.qa.verdict", "x"]
)
SPANS = st.lists(
    st.fixed_dictionaries(
        {"attributes": st.lists(st.fixed_dictionaries({"key": GENAI_KEYS, "value": ANY_VALUE}), max_size=4)},
        optional={
            "traceId": JSONISH,
            "spanId": JSONISH,
            "startTimeUnixNano": JSONISH,
            "endTimeUnixNano": JSONISH,
            "status": JSONISH,
        },
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.fixed_dictionaries(
        {
            "resourceSpans": st.lists(
                st.fixed_dictionaries({"scopeSpans": st.lists(st.fixed_dictionaries({"spans": SPANS}), max_size=2)}),
                max_size=2,
            )
        }
    )
    | JSONISH
)
def test_generated_otlp_bodies_never_get_a_5xx(token: str, body: Any) -> None:
    before = AgentRun.objects.count() + ModelCall.objects.count()
    response = post("/v1/traces", body, token)
    assert response.status_code < 500, response.content
    if response.status_code != 200:
        assert AgentRun.objects.count() + ModelCall.objects.count() == before
    logs = post("/v1/logs", {"resourceLogs": [{"scopeLogs": [{"logRecords": [body]}]}]}, token)
    assert logs.status_code < 500, logs.content
