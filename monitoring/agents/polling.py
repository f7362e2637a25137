"""Polling the product's own agent endpoints (``/api/agents/status``, ``/api/agents/memory/stats``).

For each product base URL (``Agent.poll_url``) whose agents are due, one sweep reads both
endpoints, stores what each agent reports (status, last error, memory, average execution time,
self-critique iterations) on its row, and ingests the runs it lists under ``recent_runs``
(resent runs are skipped by their id).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import logging
import ssl
from collections import defaultdict
from typing import Any

import httpx
from django.utils import timezone

from opsportal import netguard

from ..services.probes import USER_AGENT
from . import fields, ingest
from .choices import RunSource
from .fields import Errors
from .models import Agent

log = logging.getLogger(__name__)
BODY_LIMIT = 1_048_576


async def _get(client: httpx.AsyncClient, url: str, timeout: float) -> tuple[Any, str]:
    """(parsed JSON, '') or (None, a short reason)."""
    try:
        async with client.stream("GET", url, timeout=timeout) as response:
            if response.status_code != 200:
                return None, f"HTTP {response.status_code} from {url.rsplit('/api/', 1)[-1]}"
            raw = b""
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > BODY_LIMIT:
                    return None, "answer larger than 1 MB"
        return json.loads(raw), ""
    except (httpx.HTTPError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:120]}" if str(exc) else type(exc).__name__


async def _fetch_all(bases: list[str], timeout: float) -> dict[str, tuple[Any, Any, str]]:
    # The probe engine's guard: every connection's resolved address is checked against the deny
    # list at connect time (DNS rebinding, metadata addresses), as for every other probe.
    transport = netguard.GuardedTransport(verify=ssl.create_default_context(), limits=httpx.Limits(max_connections=50))
    async with httpx.AsyncClient(
        transport=transport, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    ) as client:

        async def one(base: str) -> tuple[str, tuple[Any, Any, str]]:
            status, memory = await asyncio.gather(
                _get(client, f"{base}/api/agents/status", timeout),
                _get(client, f"{base}/api/agents/memory/stats", timeout),
            )
            return base, (status[0], memory[0], status[1] or memory[1])

        return dict(await asyncio.gather(*(one(b) for b in bases)))


def fetch(bases: list[str], timeout: float = 10.0) -> dict[str, tuple[Any, Any, str]]:
    """Read every product at once; from a thread that already runs an event loop, in a fresh thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_fetch_all(bases, timeout))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, _fetch_all(bases, timeout)).result()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value < 1e9 else None


def apply(agents: list[Agent], status: Any, memory: Any, error: str, now: dt.datetime) -> int:
    """Store one product's answers on its agents' rows and ingest their listed runs; returns runs stored."""
    reported = {}
    if isinstance(status, dict) and isinstance(status.get("agents"), list):
        reported = {a.get("name"): a for a in status["agents"] if isinstance(a, dict)}
    memory_by_agent = memory.get("agents", {}) if isinstance(memory, dict) else {}
    runs: list[ingest.RunRow] = []
    for agent in agents:
        entry = reported.get(agent.slug) or {}
        mem = memory_by_agent.get(agent.slug) if isinstance(memory_by_agent, dict) else None
        mem_mb = _number(mem.get("memory_mb")) if isinstance(mem, dict) else None
        changes: dict[str, Any] = {"last_polled_at": now, "poll_error": error[:300]}
        if entry:
            last_error = entry.get("last_error")
            iterations = _number(entry.get("self_critique_iterations"))
            changes.update(
                reported_at=now,
                reported_status=str(entry.get("status") or "")[:30],
                reported_error=str(last_error)[:500] if last_error else "",
                reported_avg_seconds=_number(entry.get("avg_execution_seconds")),
                reported_critique_iterations=int(iterations) if iterations is not None else None,
                reported_memory_mb=mem_mb if mem_mb is not None else _number(entry.get("memory_mb")),
            )
            runs += _runs(agent, entry.get("recent_runs"), now)
        elif mem_mb is not None:
            changes.update(reported_at=now, reported_memory_mb=mem_mb)
        elif not error:
            changes["poll_error"] = f"the product does not report an agent named {agent.slug!r}"
        Agent.objects.filter(pk=agent.pk).update(**changes)
    return ingest.store_runs(runs) if runs else 0


def _runs(agent: Agent, items: Any, now: dt.datetime) -> list[ingest.RunRow]:
    """The listed runs that pass the same checks as the ingest API (a bad one is skipped and logged)."""
    if not isinstance(items, list):
        return []
    lookup = ingest.Lookup()
    lookup.agents = {agent.slug: agent}
    runs = []
    for index, item in enumerate(items[:100]):
        if isinstance(item, dict):
            item = {k: v for k, v in item.items() if v is not None} | {"agent": agent.slug}
        errors = Errors()
        run = ingest.run_from_item(item, index, errors, lookup, now)
        if run is None:
            log.info("polled run of %s skipped: %s", agent.slug, errors[:3])
            continue
        run.source = RunSource.POLL
        runs.append(run)
    return runs


def poll(agents: list[Agent], now: dt.datetime | None = None) -> int:
    """Poll the products of ``agents`` now; returns how many products were read."""
    now = now or fields.now()
    by_base: dict[str, list[Agent]] = defaultdict(list)
    for agent in agents:
        if agent.poll_url and agent.enabled:
            by_base[agent.poll_url.rstrip("/")].append(agent)
    if not by_base:
        return 0
    answers = fetch(list(by_base))
    for base, (status, memory, error) in answers.items():
        apply(by_base[base], status, memory, error, now)
    return len(by_base)


def poll_due(now: dt.datetime | None = None) -> int:
    """Poll the agents whose interval has passed, each claimed first (two workers never both poll)."""
    now = now or timezone.now()
    due = []
    for agent in Agent.objects.filter(enabled=True).exclude(poll_url=""):
        last = agent.last_polled_at
        if last is not None and (now - last).total_seconds() < agent.poll_interval_seconds:
            continue
        if Agent.objects.filter(pk=agent.pk, last_polled_at=last).update(last_polled_at=now):
            due.append(agent)
    return poll(due, now)
