"""The real OpenTelemetry Python SDK exports GenAI spans and log records to a live portal, configured
only through the standard OTEL_EXPORTER_OTLP_* variables; the runs and log lines appear."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from monitoring.models import Agent, AgentRun, LogLine, ModelCall
from tests.agents.helpers import ensure_agents, service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def otel_env(live_server: Any, token_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_agents()
    Agent.objects.update(service=service("agents-svc"))
    token = token_for("editor")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", live_server.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{token}")


def test_sdk_spans_become_runs_and_model_calls(otel_env: None) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": "cofounder-agent"}))
    exporter = OTLPSpanExporter()  # endpoint and bearer header from the environment only
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("product.agents")
    with tracer.start_as_current_span("invoke_agent content") as run:
        run.set_attributes(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "content",
                "agent.memory.peak_mb": 231.5,
                "agent.critique.iterations": 4,
                "agent.qa.verdict": "rejected",
                "agent.quality.score": 58.0,
                "agent.cost.usd": 0.0042,
                "agent.measure.readability": 64.0,
                "product.tenant": "acme",
            }
        )
        for tokens_in, tokens_out in ((900, 300), (400, 150)):
            with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
                chat.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.usage.input_tokens": tokens_in,
                        "gen_ai.usage.output_tokens": tokens_out,
                    }
                )
    with tracer.start_as_current_span("invoke_agent market") as failed:
        failed.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "market"})
        failed.set_attribute("gen_ai.provider.name", "ollama")
        failed.set_status(Status(StatusCode.ERROR, "trend source timed out"))
    with tracer.start_as_current_span("GET /api/health"):
        pass  # not GenAI: accepted and ignored
    assert provider.force_flush(10_000)
    provider.shutdown()

    content = AgentRun.objects.get(agent__slug="content")
    assert content.source == "otlp" and content.ok and content.duration_ms >= 0
    assert (content.peak_memory_mb, content.critique_iterations, content.qa_verdict) == (231.5, 4, "rejected")
    assert (content.quality_score, content.cost_usd, content.measures) == (58.0, 0.0042, {"readability": 64.0})
    assert (content.provider, content.model, content.tokens_in, content.tokens_out) == (
        "openai",
        "gpt-4o-mini",
        1300,
        450,
    )
    assert content.model_calls == 2 and content.attributes == {"product.tenant": "acme"}
    assert ModelCall.objects.filter(agent__slug="content", provider="openai").count() == 2
    market = AgentRun.objects.get(agent__slug="market")
    assert market.ok is False and market.error == "trend source timed out" and market.provider == "ollama"
    assert AgentRun.objects.count() == 2


def test_sdk_log_records_become_log_lines(otel_env: None) -> None:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create({"service.name": "agents-svc"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    logger = logging.getLogger("product.agents.test")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger.addHandler(handler)
    try:
        logger.error("model router fallback chain exhausted", extra={"gen_ai.agent.name": "content"})
        logger.info("content run finished")
        assert provider.force_flush(10_000)
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    lines = {line.message: line for line in LogLine.objects.select_related("service", "agent")}
    error = lines["model router fallback chain exhausted"]
    assert error.level == "error" and error.service.slug == "agents-svc" and error.agent.slug == "content"
    assert lines["content run finished"].level == "info" and lines["content run finished"].agent is None
