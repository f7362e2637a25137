"""python manage.py seed_demo: register the demo target's services and the portal's own checks.

Idempotent: services that already exist (by slug) are left exactly as they are, so running
it again, or after an editor changed a demo service, changes nothing.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.services import conf
from monitoring.services.import_export import import_services
from monitoring.services.models import Service
from monitoring.services.validators import validate_probe_url


def demo_services(target: str, portal: str) -> list[dict[str, Any]]:
    """The runbook's health checks, pointed at the demo target, plus the portal's own checks."""
    json_healthy = {"expect_json_path": "status", "expect_json_value": "healthy"}
    agent = {"kind": "agent", "parent": "demo-agents", "tags": ["demo", "agents"], "interval_seconds": 30}
    services: list[dict[str, Any]] = [
        {
            "slug": "demo-api",
            "name": "Backend API",
            "kind": "api",
            "url": f"{target}/api/health",
            "interval_seconds": 15,
            "timeout_seconds": 5,
            "tags": ["demo", "backend"],
            "description": 'curl /api/health, expected {"status": "healthy"} (runbook: Service Health Checks).',
            **json_healthy,
        },
        {
            "slug": "demo-frontend",
            "name": "Frontend",
            "kind": "frontend",
            "url": f"{target}/",
            "expect_text": 'id="root"',
            "interval_seconds": 30,
            "timeout_seconds": 5,
            "tags": ["demo", "frontend"],
            "description": "200 OK with the application's HTML.",
        },
        {
            "slug": "demo-agents",
            "name": "AI agents",
            "kind": "agent",
            "parent": "demo-api",
            "url": f"{target}/api/agents/status",
            "interval_seconds": 30,
            "timeout_seconds": 5,
            "tags": ["demo", "agents"],
            **json_healthy,
        },
        *[
            {
                "slug": f"demo-agent-{name}",
                "name": f"{name.title()} agent",
                "url": f"{target}/api/agents/{name}/status",
                "expect_json_path": "last_error",
                "expect_json_value": "null",
                **agent,
            }
            for name in ("content", "financial", "market", "compliance", "qa")
        ],
        {
            "slug": "demo-agent-memory",
            "name": "Agent memory stats",
            "url": f"{target}/api/agents/memory/stats",
            "expect_json_path": "total_mb",
            **agent,
        },
        {
            "slug": "demo-model-router",
            "name": "Model router",
            "kind": "model_provider",
            "parent": "demo-api",
            "url": f"{target}/api/models/status",
            "interval_seconds": 30,
            "timeout_seconds": 5,
            "tags": ["demo", "models"],
            **json_healthy,
        },
        {
            "slug": "demo-model-providers",
            "name": "Model providers (test all)",
            "kind": "model_provider",
            "parent": "demo-model-router",
            "url": f"{target}/api/models/test-all",
            "expect_json_path": "all_ok",
            "expect_json_value": "true",
            "interval_seconds": 300,
            "timeout_seconds": 20,
            "degraded_latency_ms": 5000,
            "tags": ["demo", "models"],
        },
        {
            "slug": "demo-ollama",
            "name": "Ollama",
            "kind": "model_provider",
            "url": f"{target}/api/tags",
            "expect_json_path": "models.0.name",
            "interval_seconds": 30,
            "timeout_seconds": 5,
            "tags": ["demo", "models", "ollama"],
            "description": "curl /api/tags lists the local models.",
        },
        {
            "slug": "portal-api",
            "name": "Ops Portal /api/health",
            "kind": "api",
            "url": f"{portal}/api/health",
            "accepted_statuses": "200",
            "expect_json_path": "status",
            "interval_seconds": 60,
            "timeout_seconds": 10,
            "tags": ["portal"],
            "description": "The portal's own health: 200 while healthy or degraded, 503 when unhealthy.",
        },
    ]
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql") and os.environ.get("DATABASE_URL"):
        services.append(
            {
                "slug": "portal-database",
                "name": "Ops Portal database",
                "kind": "database",
                "check_type": "postgres",
                "url": "",
                "dsn_env": "DATABASE_URL",
                "interval_seconds": 60,
                "timeout_seconds": 5,
                "degraded_latency_ms": 500,
                "tags": ["portal"],
                "description": 'psql $DATABASE_URL -c "SELECT 1" (runbook: Database Connection Issues).',
            }
        )
    broker = urlsplit(settings.CELERY_BROKER_URL)
    if broker.scheme in ("redis", "rediss") and broker.hostname:
        services.append(
            {
                "slug": "portal-broker",
                "name": "Ops Portal broker (Redis)",
                "kind": "cache",
                "check_type": "tcp",
                "url": "",
                "host": broker.hostname,
                "port": broker.port or 6379,
                "interval_seconds": 60,
                "timeout_seconds": 5,
                "degraded_latency_ms": 200,
                "tags": ["portal"],
            }
        )
    return services


class Command(BaseCommand):
    help = "Register the demo target's services and the portal's own /api/health and database (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target-url",
            default=conf.DEMO_TARGET_URL.get(),
            help="base URL of `manage.py demo_target` (default: DEMO_TARGET_URL)",
        )
        parser.add_argument("--portal-url", default=None, help="base URL of this portal (default SITE_URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["target_url"].rstrip("/")
        portal = (options["portal_url"] or settings.SITE_URL).rstrip("/")
        for name, value in (("--target-url", target), ("--portal-url", portal)):
            try:
                validate_probe_url(value)
            except Exception as exc:  # noqa: BLE001 - ValidationError; shown as a usage error
                raise CommandError(f"{name}: {' '.join(getattr(exc, 'messages', [str(exc)]))}") from None
        wanted = demo_services(target, portal)
        existing = set(Service.objects.filter(slug__in=[s["slug"] for s in wanted]).values_list("slug", flat=True))
        new = [s for s in wanted if s["slug"] not in existing]
        report = import_services(new)
        if not report.ok:
            raise CommandError("; ".join(report.errors))
        from monitoring.agents.demo import seed_agents

        agents, providers = seed_agents(target)
        self.stdout.write(
            f"seed_demo: {len(report.created)} service(s) created, {len(existing)} already there "
            f"(demo target {target}; start it with `manage.py demo_target`); "
            f"{agents} agent(s) tied to their services, {providers} model provider(s) created."
        )
        if not any(s["slug"] == "portal-database" for s in wanted):
            self.stdout.write(
                "seed_demo: the portal's database is not PostgreSQL via DATABASE_URL; no database check added."
            )
