"""Benchmark: agent runs, OTLP spans and log lines through gunicorn; the Agents page at 10 and 100,000 runs.

Targets (issue 12): agent runs >= 2,000/s in native batches of 200; OTLP JSON spans >= 3,000/s in
batches of 512; log lines >= 5,000/s in batches of 1,000; the Agents page in the same number of
queries at 10 and at 100,000 runs and under 300 ms at 100,000.

Starts gunicorn (2 workers, this 2-core machine) on a free loopback port against its own bench
database; 4 client threads post over keep-alive connections. Baseline in the same run: the same
clients calling a trivial authenticated endpoint (GET /api/v1/me).
Run: .venv/bin/python bench/agents.py [--batches 40] [--clients 4] [--page-runs 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_opsportal_agents")

from _alerts_common import ROOT, bench_env, setup_django
from ingest import free_port, wait_up

AGENTS = ["content", "financial", "market", "compliance", "qa"]


def run_batch(k: int, size: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "runs": [
            {
                "agent": AGENTS[i % 5],
                "id": f"b{k}-{i}-{uuid.uuid4().hex[:8]}",
                "started_at": (now - dt.timedelta(seconds=60 + i)).isoformat(),
                "duration_ms": 1000 + i * 10,
                "peak_memory_mb": 100 + i % 50,
                "critique_iterations": i % 4,
                "qa_verdict": "approved" if i % 4 else "rejected",
                "quality_score": 70 + i % 30,
                "provider": "openai",
                "model": "gpt-4o-mini",
                "tokens_in": 1000,
                "tokens_out": 300,
                "cost_usd": 0.001,
            }
            for i in range(size)
        ]
    }


def span_batch(k: int, size: int) -> dict[str, Any]:
    end = time.time_ns() - 10**9

    def attr(key: str, value: Any) -> dict[str, Any]:
        if isinstance(value, int):
            return {"key": key, "value": {"intValue": str(value)}}
        return {"key": key, "value": {"stringValue": value}}

    spans = []
    for i in range(size):
        chat = i % 2 == 1
        attributes = [
            attr("gen_ai.operation.name", "chat" if chat else "invoke_agent"),
            attr("gen_ai.provider.name", "openai"),
            attr("gen_ai.request.model", "gpt-4o-mini"),
            attr("gen_ai.usage.input_tokens", 900),
            attr("gen_ai.usage.output_tokens", 250),
        ]
        if not chat:
            attributes += [attr("gen_ai.agent.name", AGENTS[i % 5]), attr("agent.critique.iterations", 2)]
        spans.append(
            {
                "traceId": uuid.uuid4().hex,
                "spanId": uuid.uuid4().hex[:16],
                "parentSpanId": "",
                "name": "chat" if chat else "invoke_agent",
                "kind": 1,
                "startTimeUnixNano": str(end - 2 * 10**9),
                "endTimeUnixNano": str(end),
                "attributes": attributes,
                "status": {"code": 1},
            }
        )
    return {
        "resourceSpans": [
            {"resource": {"attributes": [attr("service.name", "product")]}, "scopeSpans": [{"spans": spans}]}
        ]
    }


def log_batch(k: int, size: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    levels = ["info", "info", "info", "warning", "error"]
    return {
        "logs": [
            {
                "service": "bench-agents",
                "agent": AGENTS[i % 5] if i % 3 == 0 else None,
                "level": levels[i % 5],
                "message": f"batch {k} line {i}: request handled in {i % 97} ms",
                "at": now,
            }
            for i in range(size)
        ]
    }


def through_gunicorn(args: argparse.Namespace) -> None:
    import httpx
    from django.contrib.auth import get_user_model

    from monitoring.models import Agent, AgentRun, LogLine, ModelCall, Service
    from opsportal.models import ApiToken
    from opsportal.roles import EDITOR, set_role

    user, _ = get_user_model().objects.get_or_create(username="bench-agents")
    set_role(user, EDITOR)
    _token, plain = ApiToken.issue(user, "bench", EDITOR)
    svc, _ = Service.objects.get_or_create(
        slug="bench-agents", defaults={"name": "Bench agents", "url": "http://127.0.0.1:9/"}
    )
    Agent.objects.update(service=svc)

    port = free_port()
    env = {**os.environ, **bench_env()}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "opsportal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        wait_up(f"{base}/api/health")
        clients = [httpx.Client(headers={"Authorization": f"Bearer {plain}"}, timeout=60) for _ in range(args.clients)]

        def measure(path: str, bodies: list[Any] | None) -> tuple[list[float], float]:
            def one(k: int) -> float:
                c = clients[k % len(clients)]
                t = time.perf_counter()
                r = c.get(f"{base}{path}") if bodies is None else c.post(f"{base}{path}", json=bodies[k])
                r.raise_for_status()
                return time.perf_counter() - t

            with ThreadPoolExecutor(args.clients) as pool:
                t0 = time.perf_counter()
                latencies = list(pool.map(one, range(args.batches)))
                return latencies, time.perf_counter() - t0

        for c in clients:  # warm up: connections, worker imports, first queries
            c.get(f"{base}/api/v1/me").raise_for_status()
            c.post(f"{base}/api/v1/ingest/agent-runs", json=run_batch(-1, 5)).raise_for_status()
            c.post(f"{base}/v1/traces", json=span_batch(-1, 4)).raise_for_status()
            c.post(f"{base}/api/v1/ingest/logs", json=log_batch(-1, 5)).raise_for_status()
        me, me_wall = measure("/api/v1/me", None)
        print(
            f"baseline GET /api/v1/me: median {statistics.median(me) * 1000:.1f} ms, {args.batches / me_wall:.0f} requests/s"
        )
        cases: list[tuple[str, str, Callable[[int, int], Any], int, int, Callable[[], int]]] = [
            ("agent runs", "/api/v1/ingest/agent-runs", run_batch, 200, 2000, AgentRun.objects.count),
            ("OTLP JSON spans", "/v1/traces", span_batch, 512, 3000, lambda: AgentRun.objects.count() + ModelCall.objects.count()),
            ("log lines", "/api/v1/ingest/logs", log_batch, 1000, 5000, LogLine.objects.count),
        ]  # fmt: skip
        for name, path, make, size, target, count in cases:
            bodies = [make(k, size) for k in range(args.batches)]
            before = count()
            latencies, wall = measure(path, bodies)
            stored = count() - before
            rate = args.batches * size / wall
            p95 = sorted(latencies)[max(0, int(0.95 * len(latencies)) - 1)]
            print(
                f"{name:16} {args.batches} batches of {size}: median {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, {statistics.median(latencies) / statistics.median(me):.1f}x baseline; "
                f"stored {stored}/{args.batches * size}; {rate:,.0f}/s (target >= {target:,}, {rate / target:.2f}x)"
            )
            results.append((name, stored == args.batches * size, rate >= target))
        for c in clients:
            c.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    if not all(ok for _n, ok, _r in results):
        raise SystemExit("not everything sent was stored")


def agents_page(total: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from monitoring.agents import catalog
    from monitoring.agents.rollups import rollup
    from monitoring.models import Agent, AgentRun, AgentRunHour
    from opsportal.roles import VIEWER, set_role

    user, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    set_role(user, VIEWER)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    agents = list(Agent.objects.all())

    def fill(count: int) -> None:
        AgentRun.objects.all().delete()
        AgentRunHour.objects.all().delete()
        now = timezone.now()
        step = 86_000 / max(1, count)
        rows = (
            AgentRun(
                agent=agents[i % len(agents)],
                started_at=now - dt.timedelta(seconds=i * step),
                duration_ms=1000 + (i % 300) * 100,
                peak_memory_mb=100 + i % 300,
                critique_iterations=i % 5,
                qa_verdict="rejected" if i % 4 == 0 else "approved",
                quality_score=60 + i % 40,
                provider=["openai", "anthropic", "ollama"][i % 3],
                tokens_in=1000,
                tokens_out=300,
                cost_usd=0.001,
                ok=i % 50 != 0,
                error="upstream 503" if i % 50 == 0 else "",
                source="api",
            )
            for i in range(count)
        )
        batch: list[AgentRun] = []
        for run in rows:
            batch.append(run)
            if len(batch) == 10_000:
                AgentRun.objects.bulk_create(batch)
                batch = []
        AgentRun.objects.bulk_create(batch)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE monitoring_agentrun")
        t = time.perf_counter()
        rollup()  # what the minute job does
        catalog.compute()
        print(f"  (rollup and agent metrics of {count:,} runs: {time.perf_counter() - t:.1f} s, the minute job's work)")

    for count in (10, total):
        fill(count)
        client.get("/agents/")  # warm
        times = []
        for _ in range(5):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                t = time.perf_counter()
                assert client.get("/agents/").status_code == 200
                times.append(time.perf_counter() - t)
        print(
            f"Agents page at {count:>7,} runs: {len(queries)} queries, median {statistics.median(times) * 1000:.0f} ms, "
            f"best {min(times) * 1000:.0f} ms (target < 300 ms at 100,000)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--page-runs", type=int, default=100_000)
    parser.add_argument("--only", choices=["ingest", "page"], default=None)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE monitoring_agentrun, monitoring_modelcall, monitoring_logline RESTART IDENTITY CASCADE"
        )
    print(
        f"machine: {os.cpu_count()} cores; gunicorn 2 workers, {args.clients} client threads, PostgreSQL on the same machine"
    )
    if args.only in (None, "ingest"):
        through_gunicorn(args)
    if args.only in (None, "page"):
        agents_page(args.page_runs)


if __name__ == "__main__":
    main()
