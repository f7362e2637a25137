"""Helpers for the agents tests: posting JSON with a token, agents tied to services."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
from django.test import Client
from django.urls import reverse

from monitoring.management.commands.demo_target import DemoServer
from monitoring.models import Agent, Service


def post_json(url_name: str, body: Any, token: str | None, **extra: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Client().post(reverse(url_name), data=raw, content_type="application/json", **headers, **extra)


def get_json(url: str, token: str) -> Any:
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def service(slug: str, **fields: Any) -> Service:
    defaults = {"name": slug.replace("-", " ").title(), "url": f"http://127.0.0.1:9/{slug}", "kind": "agent"}
    defaults.update(fields)
    return Service.objects.get_or_create(slug=slug, defaults=defaults)[0]


def tie_agents(service_slug: str = "agents") -> Service:
    """Tie every seeded agent to one service (the runbook's agents arrive with the migration)."""
    svc = service(service_slug)
    Agent.objects.update(service=svc)
    return svc


@contextlib.contextmanager
def demo_server() -> Iterator[DemoServer]:
    """The demo target on a free loopback port, in a thread: a real HTTP server."""
    server = DemoServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def control(demo: DemoServer, **params: Any) -> dict[str, Any]:
    response = httpx.post(f"{demo.url}/_control", json=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def ensure_agents() -> None:
    """Transactional tests (live_server) flush the tables: put the migration's agents back."""
    import importlib

    seed = importlib.import_module("monitoring.migrations.0009_agents_seed")
    for position, (slug, name, kind, description) in enumerate(seed.AGENTS, start=1):
        Agent.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "description": description, "position": position}
        )
    from monitoring.models import Metric

    for position, row in enumerate(seed.AGENT_METRICS, start=20):
        Metric.objects.get_or_create(key=row["key"], defaults={**row, "position": position})
