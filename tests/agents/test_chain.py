"""The fallback chain against real loopback providers: going down one by one, 429 transient, exhausted once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from monitoring.agents import chain
from monitoring.agents.demo import seed_agents
from monitoring.agents.rollups import rollup
from monitoring.alerts.choices import AlertEventKind, AlertState
from monitoring.management.commands.demo_target import DemoServer
from monitoring.models import Alert, AlertEvent, ModelProvider, ProviderCheck
from tests.agents.helpers import control, service

pytestmark = pytest.mark.django_db


def states() -> dict[str, str]:
    return dict(ModelProvider.objects.values_list("name", "state"))


def check_all(times: int = 1) -> None:
    for _ in range(times):
        chain.check(ModelProvider.objects.all())


@pytest.fixture
def providers(demo: DemoServer) -> DemoServer:
    service("demo-model-router", kind="model_provider")
    seed_agents(demo.url)
    ModelProvider.objects.update(failure_threshold=2, cooldown_seconds=120, timeout_seconds=2)
    return demo


def test_the_active_provider_moves_down_the_chain_as_providers_fail(providers: DemoServer) -> None:
    check_all()
    assert states() == {"openai": "up", "anthropic": "up", "ollama": "up"}
    status = chain.status()
    assert status["status"] == "healthy" and status["active_provider"] == "openai"
    assert status["fallback_chain"] == ["openai", "anthropic", "ollama"]

    control(providers, mode="500", component="openai")
    check_all()
    assert states()["openai"] == "failing"  # one failure of two: still in the chain...
    assert chain.status()["active_provider"] == "anthropic"  # ...but not the one to use
    check_all()
    openai = ModelProvider.objects.get(name="openai")
    assert openai.state == "out" and "out after 2 failures in a row: HTTP 500" in openai.state_reason
    assert openai.out_until == openai.last_checked_at + dt.timedelta(seconds=120)

    control(providers, mode="unhealthy", component="anthropic")  # 401: a real failure
    check_all(2)
    status = chain.status()
    assert status["active_provider"] == "ollama" and status["status"] == "degraded"
    assert [p["state"] for p in status["providers"]] == ["out", "out", "up"]
    assert not Alert.objects.exists()


def test_429_is_transient_and_never_takes_a_provider_out(providers: DemoServer) -> None:
    control(providers, mode="429", component="openai")
    check_all(5)
    openai = ModelProvider.objects.get(name="openai")
    assert openai.state == "limited" and openai.consecutive_failures == 0
    assert "rate limited (HTTP 429)" in openai.state_reason
    assert chain.status()["active_provider"] == "anthropic"
    assert ProviderCheck.objects.filter(provider=openai, transient=True).count() == 5
    control(providers, mode="ok", component="openai")
    check_all()
    assert chain.status()["active_provider"] == "openai"  # no cooldown: it was never out


def test_exhausted_is_raised_once_and_resolved_when_one_provider_recovers(providers: DemoServer) -> None:
    control(providers, mode="down", component="all")
    check_all(4)
    assert set(states().values()) == {"out"}
    alert = Alert.objects.get(dedup_key=chain.EXHAUSTED_KEY)
    assert alert.severity == "critical" and alert.state == AlertState.FIRING
    assert alert.service.slug == "demo-model-router"
    assert AlertEvent.objects.filter(alert=alert, kind=AlertEventKind.FIRED).count() == 1
    assert chain.status()["fallback_exhausted"] is True and chain.status()["status"] == "unhealthy"

    control(providers, mode="ok", component="ollama")
    check_all()  # passing, but the cooldown is not over: still out
    assert states()["ollama"] == "out" and "cooldown" in ModelProvider.objects.get(name="ollama").state_reason
    assert Alert.objects.get(pk=alert.pk).state == AlertState.FIRING
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=150), tick=True):
        check_all()
        assert states() == {"openai": "out", "anthropic": "out", "ollama": "up"}
        alert.refresh_from_db()
        assert alert.state == AlertState.RESOLVED
        assert chain.status()["active_provider"] == "ollama"
    assert Alert.objects.filter(dedup_key=chain.EXHAUSTED_KEY).count() == 1


def test_the_api_key_comes_from_the_named_variable_and_is_never_stored(
    providers: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai = ModelProvider.objects.get(name="openai")
    openai.api_key_env = "DEMO_OPENAI_KEY"
    openai.save()
    monkeypatch.delenv("DEMO_OPENAI_KEY", raising=False)
    check_all()
    openai.refresh_from_db()
    assert openai.state == "failing" and openai.last_error == "environment variable not set: DEMO_OPENAI_KEY"
    monkeypatch.setenv("DEMO_OPENAI_KEY", "sk-test-secret-value")
    spec = chain.specs_for(openai)[0]
    assert spec.secret_headers == {"Authorization": "Bearer sk-test-secret-value"}
    assert "sk-test" not in repr(spec)
    check_all()
    openai.refresh_from_db()
    assert openai.state == "up"
    from django.core import serializers

    assert "sk-test" not in serializers.serialize("json", ModelProvider.objects.all())


def test_traffic_shares_from_runs_and_model_calls(providers: DemoServer) -> None:
    from monitoring.models import Agent, AgentRun, ModelCall

    now = timezone.now()
    agent = Agent.objects.get(slug="content")
    AgentRun.objects.bulk_create(
        [AgentRun(agent=agent, started_at=now, duration_ms=1, provider="openai", source="api") for _ in range(3)]
        + [
            AgentRun(
                agent=agent, started_at=now - dt.timedelta(hours=3), duration_ms=1, provider="ollama", source="api"
            )
        ]
    )
    ModelCall.objects.create(at=now, provider="anthropic", duration_ms=5)
    rollup()
    usage = chain.status(now)["usage"]
    assert usage["1h"] == {
        "openai": {"requests": 3, "share_percent": 75.0},
        "anthropic": {"requests": 1, "share_percent": 25.0},
    }
    assert usage["24h"]["ollama"] == {"requests": 1, "share_percent": 20.0}
