"""The demo target's agents and model providers for ``seed_demo`` (idempotent, keeps edits)."""

from __future__ import annotations

from ..services.models import Service
from .choices import ProviderKind
from .models import Agent, ModelProvider


def seed_agents(target: str) -> tuple[int, int]:
    """Tie each registered agent with no service to ``demo-agent-<slug>`` (polling the demo target),
    and add the demo chain OpenAI -> Anthropic -> Ollama if no provider of that name exists."""
    services = {s.slug: s for s in Service.objects.filter(slug__startswith="demo-")}
    tied = 0
    for agent in Agent.objects.filter(service__isnull=True):
        service = services.get(f"demo-agent-{agent.slug}")
        if service is None:
            continue
        agent.service = service
        agent.poll_url = agent.poll_url or target
        agent.save(update_fields=["service", "poll_url", "updated_at"])
        tied += 1
    router = services.get("demo-model-router")
    chain = [
        ("openai", "OpenAI", ProviderKind.OPENAI, f"{target}/openai", "gpt-4o-mini"),
        ("anthropic", "Anthropic", ProviderKind.ANTHROPIC, f"{target}/anthropic", "claude-3-5-haiku"),
        ("ollama", "Ollama (local)", ProviderKind.OLLAMA, target, "llama3.1:8b"),
    ]
    created = 0
    for position, (name, label, kind, base_url, model) in enumerate(chain, start=1):
        _provider, made = ModelProvider.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                "label": label,
                "kind": kind,
                "base_url": base_url,
                "model": model,
                "service": services.get("demo-ollama") if kind == ProviderKind.OLLAMA else router,
                "interval_seconds": 30,
                "cooldown_seconds": 120,
            },
        )
        created += made
    return tied, created
