"""Agents, their runs and model calls, the log store, and the model-provider fallback chain."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ..services.validators import validate_env_name, validate_probe_url
from .choices import AgentKind, CheckTrigger, LogLevel, ProviderKind, ProviderState, QaVerdict, RunSource


class Agent(models.Model):
    """One AI agent of the product (the runbook's content, financial, market, compliance and QA agents).

    ``slug`` is the name the product uses (``/api/agents/content/status``, ``gen_ai.agent.name``).
    ``poll_url`` is the product's base URL when the portal should read its own
    ``/api/agents/status`` and ``/api/agents/memory/stats``; the ``reported_*`` fields hold what
    the last poll said.
    """

    slug = models.SlugField(max_length=50, unique=True, help_text="The agent's name in the product, e.g. 'content'.")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=AgentKind.choices, default=AgentKind.OTHER)
    description = models.TextField(blank=True)
    service = models.ForeignKey(
        "monitoring.Service",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agents",
        help_text="The service this agent runs in: its alerts are held while the service (or its parent) is down.",
    )
    poll_url = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_probe_url],
        help_text="Base URL of the product (e.g. http://127.0.0.1:8765): its /api/agents/status is read on schedule.",
    )
    poll_interval_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(86400)]
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    # What the product itself last reported (polling).
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_error = models.CharField(max_length=300, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_status = models.CharField(max_length=30, blank=True)
    reported_error = models.CharField(max_length=500, blank=True)
    reported_memory_mb = models.FloatField(null=True, blank=True)
    reported_avg_seconds = models.FloatField(null=True, blank=True)
    reported_critique_iterations = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def series_label(self) -> str:
        """The label of this agent's series in the metric catalog."""
        return f"agent:{self.slug}"


class AgentRun(models.Model):
    """One execution of an agent: how long, how much memory, how many self-critique rounds, the QA
    verdict and quality score, which provider and model served it, tokens, cost, and any error.

    Runs arrive through the ingest API, OTLP spans (``invoke_agent``) or polling; ``external_id``
    (the run id or span id) makes a resent run a no-op.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    peak_memory_mb = models.FloatField(null=True, blank=True)
    critique_iterations = models.PositiveIntegerField(null=True, blank=True)
    critique_seconds = models.FloatField(null=True, blank=True, help_text="Time spent in the self-critique loop.")
    qa_verdict = models.CharField(max_length=10, choices=QaVerdict.choices, blank=True, default="")
    quality_score = models.FloatField(null=True, blank=True, help_text="0 to 100.")
    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=100, blank=True)
    tokens_in = models.PositiveBigIntegerField(null=True, blank=True)
    tokens_out = models.PositiveBigIntegerField(null=True, blank=True)
    cost_usd = models.FloatField(null=True, blank=True)
    ok = models.BooleanField(default=True)
    error = models.CharField(max_length=500, blank=True)
    model_calls = models.PositiveIntegerField(default=0, help_text="Model calls recorded separately (chat spans).")
    measures = models.JSONField(default=dict, blank=True, help_text="Agent-specific figures, e.g. accuracy.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Other attributes sent (bounded).")
    source = models.CharField(max_length=10, choices=RunSource.choices)
    external_id = models.CharField(max_length=100, blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["agent", "started_at"], name="mon_agentrun_agent_at"),
            models.Index(fields=["started_at"], name="mon_agentrun_at"),
            models.Index(fields=["received_at"], name="mon_agentrun_received"),
            models.Index(fields=["agent", "started_at"], condition=models.Q(ok=False), name="mon_agentrun_failed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "external_id"], condition=~models.Q(external_id=""), name="mon_agentrun_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} run at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration_seconds(self) -> float:
        return self.duration_ms / 1000.0


class ModelCall(models.Model):
    """One call to a model provider (an OTLP ``chat`` span): counts toward the provider's share of traffic."""

    at = models.DateTimeField()
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=100, blank=True)
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_calls")
    duration_ms = models.FloatField()
    tokens_in = models.PositiveBigIntegerField(null=True, blank=True)
    tokens_out = models.PositiveBigIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=True)
    trace_id = models.CharField(max_length=32, blank=True)
    span_id = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["at", "provider"], name="mon_modelcall_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["trace_id", "span_id"], condition=~models.Q(span_id=""), name="mon_modelcall_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.model} at {self.at:%H:%M:%S}"


class LogLine(models.Model):
    """One log line of a service (and optionally one of its agents): the runbook's "Log Aggregation".

    Kept for LOG_RETENTION_DAYS and at most LOG_MAX_LINES_PER_SERVICE lines per service.
    """

    at = models.DateTimeField()
    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="log_lines")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="log_lines")
    level = models.CharField(max_length=10, choices=LogLevel.choices)
    message = models.TextField()
    attributes = models.JSONField(default=dict, blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["service", "at"], name="mon_logline_service_at"),
            models.Index(fields=["at"], name="mon_logline_at"),
            models.Index(fields=["agent", "level", "at"], name="mon_logline_agent_level"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.level} {self.message[:60]}"


class ModelProvider(models.Model):
    """One provider of the model router's fallback chain, in order (``position``).

    Probed on schedule: Ollama's /api/tags and /api/version, or an OpenAI-compatible
    GET /v1/models with the key read from the environment variable ``api_key_env`` at probe time
    (the key itself is never stored). 429 and 408 answers are transient (state "limited"); other
    failures count toward ``failure_threshold``, after which the provider is out of the chain
    until ``cooldown_seconds`` have passed *and* a check passes.
    """

    # What the chain's probes write: read-only in the admin, left out of the audit log.
    STATE_FIELDS = (
        "state",
        "state_since",
        "state_reason",
        "consecutive_failures",
        "out_until",
        "last_checked_at",
        "last_ok",
        "last_status_code",
        "last_latency_ms",
        "last_error",
    )

    position = models.PositiveSmallIntegerField(default=0)
    name = models.SlugField(max_length=50, unique=True, help_text="As agent runs name it: gen_ai.provider.name.")
    label = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=ProviderKind.choices)
    base_url = models.CharField(max_length=500, validators=[validate_probe_url])
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_env_name],
        help_text="Name of the environment variable that holds the API key (the key is never stored).",
    )
    model = models.CharField(max_length=100, blank=True, help_text="A model the provider must list (optional).")
    service = models.ForeignKey(
        "monitoring.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_providers"
    )
    enabled = models.BooleanField(default=True)
    failure_threshold = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    cooldown_seconds = models.PositiveIntegerField(default=300)
    timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(0.5), MaxValueValidator(120)])
    interval_seconds = models.PositiveIntegerField(default=60, validators=[MinValueValidator(5)])
    # State
    state = models.CharField(max_length=10, choices=ProviderState.choices, default=ProviderState.UNKNOWN)
    state_since = models.DateTimeField(default=timezone.now)
    state_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    out_until = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        permissions = [("test_modelprovider", "Can probe every model provider now (Test all)")]

    def __str__(self) -> str:
        return self.label or self.name

    def due(self, now: dt.datetime) -> bool:
        if self.last_checked_at is None:
            return True
        return (now - self.last_checked_at).total_seconds() >= self.interval_seconds


class ProviderCheck(models.Model):
    """One probe of a model provider: scheduled or from "Test all"; the latest per provider is shown."""

    provider = models.ForeignKey(ModelProvider, on_delete=models.CASCADE, related_name="checks")
    at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=10, choices=CheckTrigger.choices, default=CheckTrigger.SCHEDULE)
    ok = models.BooleanField()
    transient = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    models_listed = models.PositiveIntegerField(null=True, blank=True)
    version = models.CharField(max_length=50, blank=True)
    state_after = models.CharField(max_length=10, choices=ProviderState.choices)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["provider", "at"], name="mon_providercheck_at")]

    def __str__(self) -> str:
        return f"{self.provider_id} {'ok' if self.ok else 'failed'} at {self.at:%H:%M:%S}"


class AgentRunHour(models.Model):
    """One hour of one agent's runs served by one provider: counts, sums and a duration histogram.

    Recomputed from the raw runs by ``rollups.rollup()`` (idempotent) for every hour that received
    runs; the Agents page and the status endpoints read these rows, not the runs, so they cost the
    same at 10 or 100,000 runs. The histogram counts durations in units of 10 ms (10 ms to 22 min).
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="hours")
    hour = models.DateTimeField()
    provider = models.CharField(max_length=50, blank=True)
    runs = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    without_calls = models.PositiveIntegerField(default=0, help_text="Runs that recorded no model calls.")
    reviewed = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    quality_sum = models.FloatField(default=0.0)
    quality_count = models.PositiveIntegerField(default=0)
    critique_max = models.PositiveIntegerField(null=True, blank=True)
    duration_sum_ms = models.FloatField(default=0.0)
    duration_max_ms = models.FloatField(null=True, blank=True)
    histogram = models.JSONField(default=dict, blank=True)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    cost_usd = models.FloatField(default=0.0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["agent", "hour", "provider"]
        indexes = [
            models.Index(fields=["hour", "agent"], name="mon_agentrunhour_hour"),
            models.Index(fields=["computed_at"], name="mon_agentrunhour_computed"),
        ]
        constraints = [models.UniqueConstraint(fields=["agent", "hour", "provider"], name="mon_agentrunhour_once")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.hour:%Y-%m-%d %H}:00 {self.provider}"
