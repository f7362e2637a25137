"""The model router's fallback chain: probing each provider, its state, the active provider, traffic.

Each provider is probed by the monitoring engine (``monitoring.services.probes``): Ollama with GET
/api/tags (at least one model listed) and GET /api/version; an OpenAI-compatible provider with
GET /v1/models (``Authorization: Bearer`` from the named environment variable); Anthropic with
GET /v1/models (``x-api-key``). As LiteLLM's router does, 429 and 408 answers are transient: the
provider is "limited" (skipped for now, never taken out for it). Any other failure counts; after
``failure_threshold`` in a row the provider is out until ``cooldown_seconds`` have passed *and*
a check passes. The active provider is the first one up. When every enabled provider is out
the chain is exhausted: one critical alert, resolved when any provider comes back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..alerts.choices import Severity
from ..alerts.public import raise_alert, resolve_alert
from ..services.probes import ProbeOutcome, ProbeSpec, sweep
from .choices import CheckTrigger, ProviderKind, ProviderState
from .models import AgentRun, AgentRunHour, ModelCall, ModelProvider, ProviderCheck

TRANSIENT_STATUSES = {408, 429}
EXHAUSTED_KEY = "models:fallback-chain:exhausted"
ANTHROPIC_VERSION = "2023-06-01"


def _join(base: str, path: str) -> str:
    base = base.rstrip("/")
    if path.startswith("/v1/") and base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base + path


def specs_for(provider: ModelProvider, environ: dict[str, str] | None = None) -> list[ProbeSpec]:
    """The probes of one provider; the key is read from the environment now and kept out of repr."""
    import os

    env = os.environ if environ is None else environ
    common: dict[str, Any] = {"service_id": provider.pk, "timeout": float(provider.timeout_seconds)}
    if provider.kind == ProviderKind.OLLAMA:
        return [
            ProbeSpec(url=_join(provider.base_url, "/api/tags"), expect_json_path="models.0.name", **common),
            ProbeSpec(url=_join(provider.base_url, "/api/version"), expect_json_path="version", **common),
        ]
    secrets: dict[str, str] = {}
    missing: tuple[str, ...] = ()
    if provider.api_key_env:
        key = env.get(provider.api_key_env, "").strip()
        if not key:
            missing = (provider.api_key_env,)
        elif provider.kind == ProviderKind.ANTHROPIC:
            secrets = {"x-api-key": key}
        else:
            secrets = {"Authorization": f"Bearer {key}"}
    headers = {"anthropic-version": ANTHROPIC_VERSION} if provider.kind == ProviderKind.ANTHROPIC else {}
    return [
        ProbeSpec(
            url=_join(provider.base_url, "/v1/models"),
            headers=headers,
            secret_headers=secrets,
            missing_env=missing,
            expect_json_path="data",
            **common,
        )
    ]


@dataclass
class Verdict:
    """The combined outcome of one provider's probes."""

    ok: bool
    transient: bool
    status_code: int | None
    latency_ms: float | None
    error: str


def combine(outcomes: list[ProbeOutcome]) -> Verdict:
    failed = next((o for o in outcomes if not o.ok), None)
    latency = sum(o.latency_ms or 0.0 for o in outcomes) if outcomes else None
    if failed is None:
        return Verdict(True, False, outcomes[-1].status_code if outcomes else None, latency, "")
    transient = failed.status_code in TRANSIENT_STATUSES
    return Verdict(False, transient, failed.status_code, latency, failed.error[:300])


def next_state(provider: ModelProvider, verdict: Verdict, now: dt.datetime) -> dict[str, Any]:
    """The provider's new state fields after one check (pure: no database access)."""
    state = provider.state
    failures = provider.consecutive_failures
    out_until = provider.out_until
    cooling = state == ProviderState.OUT and out_until is not None and now < out_until
    if verdict.ok:
        if cooling:
            reason = f"check passed; back in the chain once the cooldown ends at {out_until:%H:%M:%S}"
            new, failures = ProviderState.OUT, failures
        else:
            new, failures, out_until, reason = ProviderState.UP, 0, None, ""
    elif verdict.transient:
        what = "rate limited (HTTP 429)" if verdict.status_code == 429 else f"HTTP {verdict.status_code} (timeout)"
        if state == ProviderState.OUT:
            new, reason = ProviderState.OUT, f"still out; last answer {what}"
        else:
            new, reason = ProviderState.LIMITED, f"{what}: transient, kept in the chain"
    else:
        failures += 1
        if state == ProviderState.OUT:
            new = ProviderState.OUT
            if not cooling:
                out_until = now + dt.timedelta(seconds=provider.cooldown_seconds)
            reason = f"out: {verdict.error}"
        elif failures >= provider.failure_threshold:
            new = ProviderState.OUT
            out_until = now + dt.timedelta(seconds=provider.cooldown_seconds)
            reason = f"out after {failures} failure{'s' if failures != 1 else ''} in a row: {verdict.error}"
        else:
            new = ProviderState.FAILING
            reason = f"failure {failures} of {provider.failure_threshold}: {verdict.error}"
    changes: dict[str, Any] = {
        "state": new,
        "consecutive_failures": failures,
        "out_until": out_until,
        "state_reason": reason[:300],
        "last_checked_at": now,
        "last_ok": verdict.ok,
        "last_status_code": verdict.status_code,
        "last_latency_ms": None if verdict.latency_ms is None else round(verdict.latency_ms, 1),
        "last_error": verdict.error,
    }
    if new != state:
        changes["state_since"] = now
    return changes


def check(providers: Iterable[ModelProvider], *, trigger: str = CheckTrigger.SCHEDULE) -> list[ProviderCheck]:
    """Probe the providers in one sweep, move their states, record checks, raise or resolve "exhausted"."""
    providers = [p for p in providers if p.enabled]
    if not providers:
        update_exhausted()
        return []
    specs = {p.pk: specs_for(p) for p in providers}
    flat = [spec for p in providers for spec in specs[p.pk]]
    outcomes: dict[int, list[ProbeOutcome]] = defaultdict(list)
    for outcome in sweep(flat):
        outcomes[outcome.service_id].append(outcome)
    now = timezone.now()
    checks = []
    for provider in providers:
        verdict = combine(outcomes[provider.pk])
        with transaction.atomic():
            current = ModelProvider.objects.select_for_update().get(pk=provider.pk)
            changes = next_state(current, verdict, now)
            ModelProvider.objects.filter(pk=provider.pk).update(**changes)
            checks.append(
                ProviderCheck.objects.create(
                    provider=current,
                    at=now,
                    trigger=trigger,
                    ok=verdict.ok,
                    transient=verdict.transient,
                    status_code=verdict.status_code,
                    latency_ms=changes["last_latency_ms"],
                    error=verdict.error,
                    state_after=changes["state"],
                )
            )
    update_exhausted()
    return checks


def check_due(now: dt.datetime | None = None) -> int:
    """Probe the providers whose interval has passed; each is claimed first so two workers never both do."""
    now = now or timezone.now()
    claimed = []
    for provider in ModelProvider.objects.filter(enabled=True):
        if not provider.due(now):
            continue
        if ModelProvider.objects.filter(pk=provider.pk, last_checked_at=provider.last_checked_at).update(
            last_checked_at=now
        ):
            claimed.append(provider)
    if claimed:
        check(claimed)
    return len(claimed)


def test_all() -> list[ProviderCheck]:
    """ "Test all": probe every enabled provider now."""
    return check(ModelProvider.objects.filter(enabled=True), trigger=CheckTrigger.TEST_ALL)


# The chain as a whole ---------------------------------------------------------------------------


def ordered() -> list[ModelProvider]:
    return list(ModelProvider.objects.select_related("service").order_by("position", "name"))


def active(providers: list[ModelProvider]) -> ModelProvider | None:
    """The first provider up; if none is up, the first one still in the chain (unverified); else None."""
    enabled = [p for p in providers if p.enabled]
    for p in enabled:
        if p.state == ProviderState.UP:
            return p
    return next((p for p in enabled if p.state != ProviderState.OUT), None)


def is_exhausted(providers: list[ModelProvider]) -> bool:
    enabled = [p for p in providers if p.enabled]
    return bool(enabled) and all(p.state == ProviderState.OUT for p in enabled)


def update_exhausted() -> None:
    """Raise the critical "exhausted" alert while every provider is out (refreshing the open one, so
    it is raised once); resolve it when any provider is back."""
    providers = ordered()
    if is_exhausted(providers):
        service = next((p.service for p in providers if p.service_id), None)
        raise_alert(
            EXHAUSTED_KEY,
            summary=f"Model router fallback chain exhausted: all {len(providers)} providers are failing",
            source="agents",
            severity=Severity.CRITICAL,
            service=service,
            runbook="Troubleshooting Agent Issues",
            details={p.name: p.state_reason for p in providers if p.enabled},
        )
        return
    back = active(providers)
    resolve_alert(EXHAUSTED_KEY, note=f"{back.name if back else 'a provider'} is back in the chain")


def traffic(now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Requests per provider over the last hour and day: model calls (chat spans) plus runs that
    recorded no separate calls (the last hour from the runs, the day from the hourly rollups)."""
    now = now or timezone.now()
    day, hour = now - dt.timedelta(hours=24), now - dt.timedelta(hours=1)
    counts: dict[str, dict[str, int]] = {"1h": defaultdict(int), "24h": defaultdict(int)}
    aggregates = {"h": Count("id", filter=Q(**{"at__gte": hour})), "d": Count("id")}
    for row in ModelCall.objects.filter(at__gte=day).order_by().values("provider").annotate(**aggregates):
        counts["1h"][row["provider"]] += row["h"]
        counts["24h"][row["provider"]] += row["d"]
    hourly = AgentRun.objects.filter(started_at__gte=hour, model_calls=0).exclude(provider="")
    for provider, n in hourly.order_by().values("provider").annotate(n=Count("id")).values_list("provider", "n"):
        counts["1h"][provider] += n
    for row in AgentRunHour.objects.filter(hour__gte=day.replace(minute=0, second=0, microsecond=0)).exclude(
        provider=""
    ):
        counts["24h"][row.provider] += row.without_calls
    # The current hour's runs may not be rolled up yet: the day counts at least the last hour.
    for provider, n in counts["1h"].items():
        counts["24h"][provider] = max(counts["24h"][provider], n)
    return {window: {name: n for name, n in values.items() if n} for window, values in counts.items()}


def _share(count: int, total: int) -> float:
    return round(100.0 * count / total, 1) if total else 0.0


def status(now: dt.datetime | None = None) -> dict[str, Any]:
    """The runbook's ``/api/models/status``: active provider, fallback chain, usage."""
    now = now or timezone.now()
    providers = ordered()
    current = active(providers)
    exhausted = is_exhausted(providers)
    usage = traffic(now)
    totals = {w: sum(v.values()) for w, v in usage.items()}
    chain = [p for p in providers if p.enabled]
    if exhausted or not chain:
        overall = "unhealthy"
    elif current is chain[0] and current.state == ProviderState.UP:
        overall = "healthy"
    else:
        overall = "degraded"
    return {
        "status": overall,
        "active_provider": current.name if current else None,
        "fallback_chain": [p.name for p in chain],
        "fallback_exhausted": exhausted,
        "providers": [provider_json(p, current, usage, totals) for p in providers],
        "usage": {
            window: {name: {"requests": n, "share_percent": _share(n, totals[window])} for name, n in values.items()}
            for window, values in usage.items()
        },
        "timestamp": now.isoformat(),
    }


def provider_json(
    p: ModelProvider, current: ModelProvider | None, usage: dict[str, dict[str, int]], totals: dict[str, int]
) -> dict[str, Any]:
    return {
        "name": p.name,
        "label": str(p),
        "kind": p.kind,
        "position": p.position,
        "enabled": p.enabled,
        "active": current is not None and p.pk == current.pk,
        "state": p.state if p.enabled else ProviderState.DISABLED,
        "reason": p.state_reason,
        "state_since": p.state_since.isoformat(),
        "out_until": p.out_until.isoformat() if p.out_until else None,
        "consecutive_failures": p.consecutive_failures,
        "last_checked_at": p.last_checked_at.isoformat() if p.last_checked_at else None,
        "latency_ms": p.last_latency_ms,
        "status_code": p.last_status_code,
        "api_key_env": p.api_key_env,
        "requests_1h": usage["1h"].get(p.name, 0),
        "requests_24h": usage["24h"].get(p.name, 0),
        "share_1h_percent": _share(usage["1h"].get(p.name, 0), totals["1h"]),
        "share_24h_percent": _share(usage["24h"].get(p.name, 0), totals["24h"]),
    }


def check_json(c: ProviderCheck) -> dict[str, Any]:
    return {
        "provider": c.provider.name,
        "ok": c.ok,
        "transient": c.transient,
        "status_code": c.status_code,
        "latency_ms": c.latency_ms,
        "error": c.error,
        "state": c.state_after,
        "at": c.at.isoformat(),
        "trigger": c.trigger,
    }


def last_results() -> list[ProviderCheck]:
    """The latest check of each provider (one query)."""
    from django.db.models import OuterRef, Subquery

    latest = ProviderCheck.objects.filter(provider=OuterRef("provider")).order_by("-at", "-id").values("id")[:1]
    return list(
        ProviderCheck.objects.filter(id=Subquery(latest))
        .select_related("provider")
        .order_by("provider__position", "provider__name")
    )
