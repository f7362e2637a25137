"""python manage.py demo_target [--port 8765]: a simulated product backend for demos and tests.

It answers the runbook's endpoints (/api/health, the HTML frontend, the agents and model
router endpoints, Ollama's /api/tags) and can be switched into failure modes per component
through a control endpoint, so the portal sees real transitions:

    curl -X POST 'http://127.0.0.1:8765/_control?mode=down&component=api'
    curl -X POST http://127.0.0.1:8765/_control -d '{"mode": "slow", "slow_seconds": 3}'
    curl http://127.0.0.1:8765/_control

Modes: ok, slow (answers after ``slow_seconds``), down (closes the connection without an
answer), 500, 429 (rate limited, with Retry-After), unhealthy (200 with a failing body) and
flapping (healthy for half of every ``flap_seconds`` period, 500 for the other half).
Components: api, frontend, agents, models, ollama, openai (``/openai/v1/models``), anthropic
(``/anthropic/v1/models``), or all.

The agents (``_demo_agents.py``) produce runs and take faults of their own:

    curl -X POST http://127.0.0.1:8765/_control -d '{"agent_fault": "leak", "agent": "content"}'
    curl -X POST http://127.0.0.1:8765/_control -d '{"runs": 10}'

Faults: none, leak (memory past 500 MB), stuck (5 self-critique iterations), slow (6-minute
runs), reject (QA rejects 3 runs in 5), errors.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.management.base import BaseCommand, CommandParser

from ._demo_agents import AGENTS, AgentSimulation

COMPONENTS = ("api", "frontend", "agents", "models", "ollama", "openai", "anthropic")
MODES = ("ok", "slow", "down", "500", "429", "unhealthy", "flapping")
OPENAI_MODELS = ["gpt-4o-mini", "gpt-4o"]
ANTHROPIC_MODELS = ["claude-3-5-haiku", "claude-3-5-sonnet"]
PROVIDERS = ["ollama", "openai", "anthropic"]
LOG_LEVELS = ("debug", "info", "warning", "error")
FRONTEND_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AI Product</title></head>
<body><div id="root" data-app="ai-product">AI Product is running.</div></body></html>
"""
BROKEN_HTML = """<!doctype html><html><head><title>Application error</title></head>
<body><h1>Application error</h1><p>The frontend could not load its bundle.</p></body></html>
"""


class DemoState:
    """Failure mode per component, changed through /_control; shared by all handler threads."""

    def __init__(self, mode: str = "ok") -> None:
        self.lock = threading.Lock()
        self.modes = dict.fromkeys(COMPONENTS, mode)
        self.slow_seconds = 2.5
        self.flap_seconds = 20.0
        self.started = time.time()
        self.requests = 0
        self.agents = AgentSimulation()

    def effective(self, component: str) -> str:
        mode = self.modes[component]
        if mode == "flapping":
            phase = ((time.time() - self.started) % self.flap_seconds) / self.flap_seconds
            return "ok" if phase < 0.5 else "500"
        return mode

    def as_dict(self) -> dict[str, Any]:
        return {
            "modes": dict(self.modes),
            "slow_seconds": self.slow_seconds,
            "flap_seconds": self.flap_seconds,
            **self.agents.as_dict(),
        }

    def apply(self, params: dict[str, Any]) -> None:
        """Validate and apply a control request; raises ValueError with a message."""
        mode = params.get("mode")
        component = params.get("component", "all")
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if component != "all" and component not in COMPONENTS:
            raise ValueError(f"component must be all or one of {', '.join(COMPONENTS)}")
        numbers = {}
        for key in ("slow_seconds", "flap_seconds"):
            if key in params:
                try:
                    numbers[key] = float(params[key])
                except (TypeError, ValueError):
                    raise ValueError(f"{key} must be a number") from None
                if not 0 < numbers[key] <= 600:
                    raise ValueError(f"{key} must be between 0 and 600")
        self.agents.apply(params)
        with self.lock:
            if mode is not None:
                for name in COMPONENTS if component == "all" else (component,):
                    self.modes[name] = mode
            for key, value in numbers.items():
                setattr(self, key, value)
            if mode == "flapping":
                self.started = time.time()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DemoServer
    server_version = "demo-target/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    # Plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _component(self, path: str) -> str | None:
        if path == "/":
            return "frontend"
        if path == "/api/health":
            return "api"
        if path.startswith("/api/agents"):
            return "agents"
        if path.startswith("/api/models"):
            return "models"
        if path in ("/api/tags", "/api/status", "/api/version"):
            return "ollama"
        if path.startswith("/openai/"):
            return "openai"
        if path.startswith("/anthropic/"):
            return "anthropic"
        return None

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/_control":
            self._json({"error": "not found"}, 404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 65536)) if length else b""
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                self._json({"error": "body is not valid JSON"}, 400)
                return
            if not isinstance(body, dict):
                self._json({"error": "body must be a JSON object"}, 400)
                return
            params.update(body)
        try:
            self.server.state.apply(params)
        except ValueError as exc:
            self._json({"error": str(exc)}, 400)
            return
        self._json(self.server.state.as_dict())

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.server.state.lock:
            self.server.state.requests += 1
        if path == "/_control":
            self._json(self.server.state.as_dict())
            return
        component = self._component(path)
        if component is None:
            self._json({"error": "not found", "path": path}, 404)
            return
        mode = self.server.state.effective(component)
        if mode == "down":
            self.close_connection = True  # the backend is gone: no answer at all
            return
        if mode == "slow":
            time.sleep(self.server.state.slow_seconds)
        if mode == "500":
            self._json({"status": "error", "detail": "internal server error"}, 500)
            return
        if mode == "429":
            self.send_response(429)
            body = b'{"error": {"type": "rate_limit_error", "message": "rate limit reached"}}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "30")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with self.server.state.lock:
            self.server.state.agents.provider = next(
                (p for p in ("openai", "anthropic", "ollama") if self.server.state.effective(p) == "ok"), "openai"
            )
        self._route(path, query, unhealthy=mode == "unhealthy")

    # The product's endpoints ----------------------------------------------------------------

    def _route(self, path: str, query: dict[str, str], unhealthy: bool) -> None:
        status = "unhealthy" if unhealthy else "healthy"
        if path == "/":
            self._send(200, (BROKEN_HTML if unhealthy else FRONTEND_HTML).encode(), "text/html; charset=utf-8")
        elif path == "/api/health":
            checks = {"database": "error" if unhealthy else "ok", "cache": "ok", "queue": "ok"}
            self._json({"status": status, "timestamp": _now(), "version": "1.4.2", "checks": checks})
        elif path == "/api/agents/status":
            agents = [self.server.state.agents.status(name, unhealthy) for name in AGENTS]
            self._json({"status": status, "agents": agents, "timestamp": _now()})
        elif path == "/api/agents/memory/stats":
            self._json(self.server.state.agents.memory_stats(unhealthy))
        elif path in ("/openai/v1/models", "/anthropic/v1/models"):
            if unhealthy:
                self._json({"error": {"type": "authentication_error", "message": "invalid x-api-key"}}, 401)
                return
            names = OPENAI_MODELS if path.startswith("/openai") else ANTHROPIC_MODELS
            self._json({"object": "list", "data": [{"id": n, "object": "model"} for n in names]})
        elif path == "/api/agents/logs":
            self._logs(query)
        elif path.startswith("/api/agents/") and path.endswith("/status"):
            name = path.split("/")[3]
            if name not in AGENTS:
                self._json({"error": f"unknown agent {name!r}", "agents": list(AGENTS)}, 404)
            else:
                self._json(self.server.state.agents.status(name, unhealthy) | {"timestamp": _now()})
        elif path == "/api/models/status":
            providers = [
                {
                    "name": p,
                    "status": "error" if unhealthy else "ok",
                    "latency_ms": round(random.uniform(80, 400)),
                    "requests_today": 1200 - 300 * i,
                }
                for i, p in enumerate(PROVIDERS)
            ]
            self._json(
                {
                    "status": "unhealthy" if unhealthy else "healthy",
                    "active_provider": None if unhealthy else PROVIDERS[0],
                    "fallback_chain": PROVIDERS,
                    "fallback_exhausted": unhealthy,
                    "providers": providers,
                }
            )
        elif path == "/api/models/test-all":
            results = [
                {"provider": p, "ok": not unhealthy, "latency_ms": round(random.uniform(150, 900))} for p in PROVIDERS
            ]
            self._json({"status": status, "all_ok": not unhealthy, "results": results})
        elif path == "/api/tags":
            self._json({"models": [] if unhealthy else self._models()})
        elif path == "/api/status":
            self._json({"status": "error" if unhealthy else "running"})
        elif path == "/api/version":
            self._json({"version": "0.5.7"})
        else:
            self._json({"error": "not found", "path": path}, 404)

    def _logs(self, query: dict[str, str]) -> None:
        level = query.get("level", "info")
        limit_raw = query.get("limit", "50")
        if level not in LOG_LEVELS:
            self._json({"error": f"level must be one of {', '.join(LOG_LEVELS)}"}, 400)
            return
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 500:
            self._json({"error": "limit must be a whole number from 1 to 500"}, 400)
            return
        now = dt.datetime.now(dt.UTC)
        entries = [
            {
                "at": (now - dt.timedelta(minutes=7 * i)).isoformat(),
                "level": level,
                "agent": list(AGENTS)[i % len(AGENTS)],
                "message": f"{level} event {i}",
            }
            for i in range(min(int(limit_raw), 3 if level == "error" else 25))
        ]
        self._json({"level": level, "limit": int(limit_raw), "logs": entries})

    def _models(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "model": name,
                "modified_at": "2025-10-30T09:12:44.000000+00:00",
                "size": size,
                "digest": digest,
                "details": {
                    "format": "gguf",
                    "family": family,
                    "parameter_size": params,
                    "quantization_level": "Q4_K_M",
                },
            }
            for name, size, digest, family, params in (
                (
                    "llama3.1:8b",
                    4920753328,
                    "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
                    "llama",
                    "8.0B",
                ),
                (
                    "mistral:7b",
                    4113301824,
                    "f974a74358d62a017b37c6f424fcdf2744ca02926c4f952513ddf474b2fa5091",
                    "llama",
                    "7.2B",
                ),
            )
        ]


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, host: str, port: int, *, mode: str = "ok", verbose: bool = False) -> None:
        super().__init__((host, port), DemoHandler)
        self.state = DemoState(mode)
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Command(BaseCommand):
    help = "Serve a simulated product backend (health, frontend, agents, models, Ollama) with switchable failure modes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
        parser.add_argument("--mode", choices=MODES, default="ok", help="initial mode of every component")
        parser.add_argument("--verbose", action="store_true", help="log every request")

    def handle(self, *args: Any, **options: Any) -> None:
        server = DemoServer(options["host"], options["port"], mode=options["mode"], verbose=options["verbose"])
        self.stdout.write(f"demo target on {server.url} (control: {server.url}/_control); Ctrl-C stops it")
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
