"""The runbook's agent and model-router endpoints, on the portal (bearer token or session).

So its ``curl`` lines work unchanged against the portal: ``/api/agents/status``,
``/api/agents/<name>/status``, ``/api/agents/memory/stats``, ``/api/agents/logs?level=error&limit=50``,
``/api/models/status`` and ``/api/models/test-all`` (GET: the last results; POST: probe every
provider now, Editors).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from opsportal.access import api_error, api_view, has_perm
from opsportal.web import ApiError

from . import chain, status
from .choices import LogLevel
from .models import Agent

VIEW_AGENTS = "monitoring.view_agent"
VIEW_LOGS = "monitoring.view_logline"
VIEW_PROVIDERS = "monitoring.view_modelprovider"
TEST_PROVIDERS = "monitoring.test_modelprovider"


@api_view(VIEW_AGENTS)
def agents_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse(status.agents_status())


@api_view(VIEW_AGENTS)
def agent_status(request: HttpRequest, name: str) -> JsonResponse:
    agent = Agent.objects.select_related("service").filter(slug=name).first()
    if agent is None:
        known = list(Agent.objects.values_list("slug", flat=True))
        raise ApiError(404, f"unknown agent {name[:60]!r}", {"name": "unknown agent"}, agents=known)
    now = timezone.now()
    return JsonResponse(status.agents_json([agent], now)[0] | {"timestamp": now.isoformat()})


@api_view(VIEW_AGENTS)
def memory_stats(request: HttpRequest) -> JsonResponse:
    return JsonResponse(status.memory_stats())


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


@api_view(VIEW_PROVIDERS)
def models_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse(chain.status())


@api_view(VIEW_PROVIDERS, methods=("GET", "POST"))
def models_test_all(request: HttpRequest) -> JsonResponse:
    """GET: each provider's latest check; POST (Editors): probe every provider now and answer with the results."""
    if request.method == "POST":
        if not has_perm(request, TEST_PROVIDERS):
            return api_error(403, "permission denied", required=TEST_PROVIDERS)
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
