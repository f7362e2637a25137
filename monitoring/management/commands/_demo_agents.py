"""The demo target's simulated agents: their runs, memory, self-critique and QA verdicts, and faults.

Each agent produces a run every ``run_every_seconds`` (generated when asked for, so an idle demo
costs nothing) or on demand (``POST /_control {"runs": 10}``). A fault per agent changes what it
reports and the runs it produces from then on:

- ``leak``: memory climbs past the 500 MB limit;
- ``stuck``: five self-critique iterations a run;
- ``slow``: runs take six minutes;
- ``reject``: the QA agent rejects three runs in five;
- ``errors``: runs fail.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import time
from collections import deque
from typing import Any

AGENTS = {
    "content": {"role": "Content Agent", "avg_seconds": 42.0, "memory_mb": 160.0},
    "financial": {"role": "Financial Agent", "avg_seconds": 8.5, "memory_mb": 72.0},
    "market": {"role": "Market Agent", "avg_seconds": 19.0, "memory_mb": 110.0},
    "compliance": {"role": "Compliance Agent", "avg_seconds": 11.0, "memory_mb": 64.0},
    "qa": {"role": "QA Agent", "avg_seconds": 6.0, "memory_mb": 38.0},
}
FAULTS = ("none", "leak", "stuck", "slow", "reject", "errors")
MEASURES = {
    "financial": {"calculation_accuracy": 99.95, "cost_tracking_updates": 1},
    "market": {"trend_detection_latency_ms": 42000, "accuracy_score": 93.0},
    "compliance": {"violation_detection_rate": 97.0, "false_positive_pct": 3.0},
}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku", "ollama": "llama3.1:8b"}
KEEP_RUNS = 50


class AgentSimulation:
    """Runs and faults of every simulated agent; shared by all handler threads (one lock)."""

    def __init__(self, run_every_seconds: float = 15.0) -> None:
        self.lock = threading.Lock()
        self.faults = dict.fromkeys(AGENTS, "none")
        self.runs: dict[str, deque[dict[str, Any]]] = {name: deque(maxlen=KEEP_RUNS) for name in AGENTS}
        self.run_every_seconds = run_every_seconds
        self.last_generated = dict.fromkeys(AGENTS, time.time())
        self.sequence = itertools.count(1)
        self.provider = "openai"

    # Control ------------------------------------------------------------------------------------

    def apply(self, params: dict[str, Any]) -> None:
        """``agent_fault`` (+ ``agent``), ``runs`` (generate now), ``run_every_seconds``; ValueError if bad."""
        fault = params.get("agent_fault")
        agent = params.get("agent", "all")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"agent_fault must be one of {', '.join(FAULTS)}")
        if agent != "all" and agent not in AGENTS:
            raise ValueError(f"agent must be all or one of {', '.join(AGENTS)}")
        count = params.get("runs")
        if count is not None:
            if isinstance(count, str) and count.isdigit():
                count = int(count)
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= KEEP_RUNS:
                raise ValueError(f"runs must be a whole number from 0 to {KEEP_RUNS}")
        names = list(AGENTS) if agent == "all" else [agent]
        with self.lock:
            if fault is not None:
                for name in names:
                    self.faults[name] = fault
            for name in names:
                for _ in range(count or 0):
                    self._new_run(name, time.time())

    def as_dict(self) -> dict[str, Any]:
        return {"agent_faults": dict(self.faults), "run_every_seconds": self.run_every_seconds}

    # What the product reports ---------------------------------------------------------------------

    def _new_run(self, name: str, now: float) -> None:
        info, fault = AGENTS[name], self.faults[name]
        seq = next(self.sequence)
        duration = 360.0 if fault == "slow" else info["avg_seconds"] * random.uniform(0.8, 1.2)
        iterations = 5 if fault == "stuck" else (2 if name == "content" else 1)
        verdict = None
        if name == "content":
            verdict = "rejected" if (seq % 5 < 3 if fault == "reject" else seq % 10 == 0) else "approved"
        tokens_in, tokens_out = random.randint(800, 2400), random.randint(300, 1200)
        run = {
            "id": f"{name}-{seq}",
            "started_at": dt.datetime.fromtimestamp(now - duration, dt.UTC).isoformat(),
            "duration_seconds": round(duration, 2),
            "peak_memory_mb": self.memory(name, now),
            "critique_iterations": iterations,
            "critique_seconds": round(duration * 0.3, 2) if name == "content" else None,
            "qa_verdict": verdict,
            "quality_score": (55.0 if fault == "reject" else 86.0) if name == "content" else None,
            "provider": self.provider,
            "model": MODELS.get(self.provider, ""),
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "cost_usd": round((tokens_in * 0.15 + tokens_out * 0.6) / 1e6, 6),
            "ok": fault != "errors",
            "error": "model call failed: upstream returned 503" if fault == "errors" else None,
            "measures": dict(MEASURES.get(name, {})),
        }
        self.runs[name].append(run)

    def _catch_up(self, now: float) -> None:
        for name in AGENTS:
            due = int((now - self.last_generated[name]) // self.run_every_seconds)
            for _ in range(min(due, 5)):
                self._new_run(name, now)
            if due:
                self.last_generated[name] = now

    def memory(self, name: str, now: float) -> float:
        base = AGENTS[name]["memory_mb"]
        if self.faults[name] == "leak":
            return round(620.0 + (now % 60), 1)
        return round(base * random.uniform(0.95, 1.05), 1)

    def status(self, name: str, unhealthy: bool) -> dict[str, Any]:
        now = time.time()
        with self.lock:
            self._catch_up(now)
            fault = self.faults[name]
            runs = list(self.runs[name])[-10:]
            memory = self.memory(name, now)
        info = AGENTS[name]
        avg = info["avg_seconds"] * (9 if unhealthy else 1)
        if fault == "slow":
            avg = 360.0
        last_error = None
        if unhealthy:
            last_error = "model router fallback chain exhausted"
        elif fault == "errors":
            last_error = "model call failed: upstream returned 503"
        return {
            "name": name,
            "role": info["role"],
            "status": "error" if unhealthy or fault == "errors" else random.choice(["idle", "idle", "running"]),
            "avg_execution_seconds": avg,
            "executions_today": 40 + len(name) * 3,
            "self_critique_iterations": 5 if unhealthy or fault == "stuck" else 2,
            "memory_mb": memory * (3.5 if unhealthy else 1.0),
            "last_error": last_error,
            "recent_runs": runs,
        }

    def memory_stats(self, unhealthy: bool) -> dict[str, Any]:
        now = time.time()
        with self.lock:
            usage = {n: round(self.memory(n, now) * (3.5 if unhealthy else 1.0), 1) for n in AGENTS}
        return {
            "agents": {n: {"memory_mb": mb} for n, mb in usage.items()},
            "total_mb": round(sum(usage.values()), 1),
            "limit_mb": 500,
        }
