"""Choice sets of the agents part: agent kinds, run sources, QA verdicts, log levels, provider states."""

from __future__ import annotations

from django.db import models


class AgentKind(models.TextChoices):
    CONTENT = "content", "Content agent"
    FINANCIAL = "financial", "Financial agent"
    MARKET = "market", "Market agent"
    COMPLIANCE = "compliance", "Compliance agent"
    QA = "qa", "QA agent"
    OTHER = "other", "Other agent"


class RunSource(models.TextChoices):
    API = "api", "Ingest API"
    OTLP = "otlp", "OpenTelemetry"
    POLL = "poll", "Polled from the product"


class QaVerdict(models.TextChoices):
    NONE = "", "No review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class LogLevel(models.TextChoices):
    TRACE = "trace", "trace"
    DEBUG = "debug", "debug"
    INFO = "info", "info"
    WARNING = "warning", "warning"
    ERROR = "error", "error"
    CRITICAL = "critical", "critical"


# Severity order of log levels; "at least error" filters use it. OTLP severity numbers map onto it.
LEVEL_RANK = {"trace": 1, "debug": 5, "info": 9, "warning": 13, "error": 17, "critical": 21}
LEVEL_ALIASES = {"warn": "warning", "fatal": "critical", "err": "error", "crit": "critical", "information": "info"}


def level_from_severity_number(number: int) -> str:
    """The level of an OTLP SeverityNumber (1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal)."""
    for level in ("critical", "error", "warning", "info", "debug"):
        if number >= LEVEL_RANK[level]:
            return level
    return "trace"


class ProviderKind(models.TextChoices):
    OLLAMA = "ollama", "Ollama (/api/tags and /api/version)"
    OPENAI = "openai", "OpenAI-compatible (GET /v1/models, Bearer key)"
    ANTHROPIC = "anthropic", "Anthropic (GET /v1/models, x-api-key)"


class ProviderState(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    UP = "up", "Up"
    LIMITED = "limited", "Rate-limited or timed out (transient)"
    FAILING = "failing", "Failing (still in the chain)"
    OUT = "out", "Out of the chain"
    DISABLED = "disabled", "Disabled"


class CheckTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    TEST_ALL = "test_all", "Test all"
