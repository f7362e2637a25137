"""The runbook's agent and model-router endpoints, on the portal (bearer token or session).

So its ``curl`` lines work unchanged against the portal: ``/api/agents/status``,
``/api/agents/<name>/status``, ``/api/agents/memory/stats``, ``/api/agents/logs?level=error&limit=50``,
``/api/models/status`` and ``/api/models/test-all`` (GET: the last results; POST: probe every
provider now, Editors).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from opsportal.access import api_view
from opsportal.apidoc import (
    ANY_OBJECT,
    BOOL,
    INT,
    NUM,
    SLUG,
    STR,
    TIME,
    Answer,
    arr,
    component,
    describe,
    described,
    enum,
    mapping,
    null,
    obj,
    query,
    tag,
)
from opsportal.web import ApiError

from . import chain, status
from .choices import CheckTrigger, LogLevel, ProviderKind, ProviderState
from .models import Agent

VIEW_AGENTS = "monitoring.view_agent"
VIEW_LOGS = "monitoring.view_logline"
VIEW_PROVIDERS = "monitoring.view_modelprovider"
TEST_PROVIDERS = "monitoring.test_modelprovider"

AGENTS = tag("Agents", "The runbook's agent and model-router endpoints (its curl lines work unchanged).")
OVERALL = enum(("healthy", "degraded", "unhealthy"))
AGENT_FIELDS = {
    "name": SLUG,
    "display_name": STR,
    "role": STR,
    "status": described(STR, "ok, degraded, error or unknown (or what the product reports)."),
    "service": null(SLUG),
    "runs_1h": INT,
    "failed_1h": INT,
    "runs_24h": INT,
    "avg_execution_seconds": null(NUM),
    "p95_execution_seconds": null(NUM),
    "memory_mb": null(NUM),
    "self_critique_iterations": null(NUM),
    "qa_rejection_rate_percent": null(NUM),
    "last_run_at": null(TIME),
    "last_rolled_up_hour": null(TIME),
    "last_error": null(STR),
    "reported_at": null(TIME),
    "alerts": arr(obj({"id": INT, "severity": STR, "summary": STR})),
}
AGENT = component("AgentStatus", obj(AGENT_FIELDS))
LOG_LINE = component(
    "LogLine",
    obj(
        {
            "at": TIME,
            "level": enum(LogLevel.values),
            "service": SLUG,
            "agent": null(SLUG),
            "message": STR,
            "attributes": ANY_OBJECT,
        }
    ),
)
PROVIDER = component(
    "ModelProvider",
    obj(
        {
            "name": STR,
            "label": STR,
            "kind": enum(ProviderKind.values),
            "position": INT,
            "enabled": BOOL,
            "active": BOOL,
            "state": enum(ProviderState.values),
            "reason": STR,
            "state_since": TIME,
            "out_until": null(TIME),
            "consecutive_failures": INT,
            "last_checked_at": null(TIME),
            "latency_ms": null(NUM),
            "status_code": null(INT),
            "api_key_env": described(STR, "The environment variable holding the key (never the key)."),
            "requests_1h": INT,
            "requests_24h": INT,
            "share_1h_percent": null(NUM),
            "share_24h_percent": null(NUM),
        }
    ),
)
PROVIDER_CHECK = component(
    "ProviderCheck",
    obj(
        {
            "provider": STR,
            "ok": BOOL,
            "transient": BOOL,
            "status_code": null(INT),
            "latency_ms": null(NUM),
            "error": STR,
            "state": enum(ProviderState.values),
            "at": TIME,
            "trigger": enum(CheckTrigger.values),
        }
    ),
)
TEST_RESULTS = obj(
    {
        "status": enum(("healthy", "unhealthy", "unknown")),
        "all_ok": BOOL,
        "results": arr(PROVIDER_CHECK),
        "tested_at": null(TIME),
    }
)


@describe(
    "GET",
    "Every agent's status",
    tag=AGENTS,
    answers={
        200: Answer(
            "The enabled agents; unhealthy when one is in error or the fallback chain is exhausted.",
            obj({"status": OVERALL, "agents": arr(AGENT), "timestamp": TIME}),
        )
    },
)
@api_view(VIEW_AGENTS)
def agents_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse(status.agents_status())


@describe(
    "GET",
    "One agent's status",
    tag=AGENTS,
    answers={200: Answer("The agent.", obj({**AGENT_FIELDS, "timestamp": TIME}))},
    errors=(404,),
)
@api_view(VIEW_AGENTS)
def agent_status(request: HttpRequest, name: str) -> JsonResponse:
    agent = Agent.objects.select_related("service").filter(slug=name).first()
    if agent is None:
        known = list(Agent.objects.values_list("slug", flat=True))
        raise ApiError(404, f"unknown agent {name[:60]!r}", {"name": "unknown agent"}, agents=known)
    now = timezone.now()
    return JsonResponse(status.agents_json([agent], now)[0] | {"timestamp": now.isoformat()})


@describe(
    "GET",
    "Agents' memory against the limit",
    tag=AGENTS,
    answers={
        200: Answer(
            "Each enabled agent's latest memory (MB) and whether it is over the agent_memory threshold.",
            obj(
                {
                    "agents": mapping(obj({"memory_mb": null(NUM), "at": null(TIME), "over_limit": BOOL})),
                    "total_mb": NUM,
                    "limit_mb": NUM,
                    "timestamp": TIME,
                }
            ),
        )
    },
)
@api_view(VIEW_AGENTS)
def memory_stats(request: HttpRequest) -> JsonResponse:
    return JsonResponse(status.memory_stats())


@describe(
    "GET",
    "Agents' newest log lines",
    tag=AGENTS,
    params=[
        query("level", enum(LogLevel.values), "This level and above (default info)."),
        query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Lines (default 50)."),
        query("agent", SLUG, "One agent's lines only."),
    ],
    answers={
        200: Answer(
            "The newest lines first.",
            obj({"level": enum(LogLevel.values), "limit": INT, "logs": arr(LOG_LINE)}),
        )
    },
    errors=(400,),
)
@api_view(VIEW_LOGS)
def agent_logs(request: HttpRequest) -> JsonResponse:
    level = request.GET.get("level", "info").lower()
    limit_raw = request.GET.get("limit", "50")
    errors: dict[str, str] = {}
    if level not in LogLevel.values:
        errors["level"] = f"one of {', '.join(LogLevel.values)}"
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 500:
        errors["limit"] = "a whole number from 1 to 500"
    agent = None
    if request.GET.get("agent"):
        agent = Agent.objects.filter(slug=request.GET["agent"]).first()
        if agent is None:
            errors["agent"] = "unknown agent"
    if errors:
        raise ApiError(400, "; ".join(f"{name}: {problem}" for name, problem in errors.items()), errors)
    return JsonResponse(status.agent_logs(level, int(limit_raw), agent))


@describe(
    "GET",
    "The model router: active provider, fallback chain, usage",
    tag=AGENTS,
    answers={
        200: Answer(
            "The chain in order, each provider's state, and the requests each took in the last 1 h and 24 h.",
            obj(
                {
                    "status": OVERALL,
                    "active_provider": null(STR),
                    "fallback_chain": arr(STR),
                    "fallback_exhausted": BOOL,
                    "providers": arr(PROVIDER),
                    "usage": mapping(mapping(obj({"requests": INT, "share_percent": null(NUM)}))),
                    "timestamp": TIME,
                }
            ),
        )
    },
)
@api_view(VIEW_PROVIDERS)
def models_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse(chain.status())


@describe(
    "GET",
    "Each provider's latest check",
    tag=AGENTS,
    answers={200: Answer("The last results.", TEST_RESULTS)},
)
@describe(
    "POST",
    "Probe every provider now",
    tag=AGENTS,
    answers={200: Answer("The results of this test.", TEST_RESULTS)},
)
@api_view(VIEW_PROVIDERS, methods=("GET", "POST"), method_permissions={"POST": TEST_PROVIDERS})
def models_test_all(request: HttpRequest) -> JsonResponse:
    """GET: each provider's latest check; POST (Editors): probe every provider now and answer with the results."""
    if request.method == "POST":
        checks = chain.test_all()
    else:
        checks = chain.last_results()
    results = [chain.check_json(c) for c in checks]
    all_ok = bool(results) and all(r["ok"] for r in results)
    return JsonResponse(
        {
            "status": "healthy" if all_ok else ("unknown" if not results else "unhealthy"),
            "all_ok": all_ok,
            "results": results,
            "tested_at": max((r["at"] for r in results), default=None),
        }
    )
