"""Console pages: the Agents page (figures, chain strip, Test all), the dashboard row, agents, logs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.agents import catalog, charts
from monitoring.agents.rollups import rollup
from monitoring.models import Agent, AgentRun, LogLine, ModelProvider
from opsportal.models import AuditRecord
from tests.agents.helpers import service, tie_agents

pytestmark = pytest.mark.django_db


def make_runs(count: int, now: dt.datetime) -> None:
    agents = list(Agent.objects.all())
    AgentRun.objects.bulk_create(
        [
            AgentRun(
                agent=agents[i % len(agents)],
                started_at=now - dt.timedelta(seconds=(i * 86000) // max(1, count)),
                duration_ms=20000 + (i % 50) * 1000,
                peak_memory_mb=150 + i % 100,
                critique_iterations=i % 4,
                qa_verdict="rejected" if i % 3 == 0 else "approved",
                quality_score=70 + i % 30,
                provider="openai",
                tokens_in=1000,
                tokens_out=400,
                cost_usd=0.002,
                ok=i % 17 != 0,
                error="upstream 503" if i % 17 == 0 else "",
                source="api",
            )
            for i in range(count)
        ],
        batch_size=5000,
    )
    rollup()


def test_the_agents_page_shows_each_agent_and_the_chain(client_for: Any) -> None:
    tie_agents()
    now = timezone.now()
    make_runs(200, now)
    ModelProvider.objects.create(
        name="openai", label="OpenAI", kind="openai", base_url="http://127.0.0.1:9", position=1, state="up"
    )
    ModelProvider.objects.create(
        name="ollama", label="Ollama", kind="ollama", base_url="http://127.0.0.1:9", position=2, state="out"
    )
    catalog.compute(now)
    page = client_for("viewer").get(reverse("monitoring:agents")).content.decode()
    for slug in ("content", "financial", "market", "compliance", "qa"):
        assert f'data-testid="agent-{slug}"' in page
    assert 'data-testid="chain-strip"' in page and 'data-provider="openai" data-state="up" data-active="true"' in page
    assert 'data-provider="ollama" data-state="out"' in page
    assert "upstream 503" in page  # last errors
    assert "limit 500 MB" in page and "limit 30%" in page
    assert 'data-testid="test-all"' not in page  # viewers do not test
    # never checked: the table says so instead of printing an empty timestamp
    assert re.search(r'data-provider="openai">.*?<td class="nowrap small">never</td>', page, re.S)
    assert 'data-testid="test-all"' in client_for("editor").get(reverse("monitoring:agents")).content.decode()


def test_the_agents_page_takes_a_fixed_number_of_queries(client_for: Any) -> None:
    tie_agents()
    client = client_for("viewer")
    counts = []
    for runs in (10, 3000):
        AgentRun.objects.all().delete()
        make_runs(runs, timezone.now())
        LogLine.objects.create(
            service=Agent.objects.first().service,
            agent=Agent.objects.first(),
            at=timezone.now(),
            level="error",
            message="x",
        )
        catalog.compute()
        client.get(reverse("monitoring:agents"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("monitoring:agents")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_test_all_is_for_editors_and_is_audited(client_for: Any) -> None:
    ModelProvider.objects.create(
        name="ollama", kind="ollama", base_url="http://127.0.0.1:9", position=1, timeout_seconds=1
    )
    response = client_for("editor").post(reverse("monitoring:agents_test_all"), follow=True)
    assert "Test all: tested 1 provider(s); failing: ollama." in response.content.decode()
    assert AuditRecord.objects.filter(summary__startswith="Test all model providers").count() == 1
    assert ModelProvider.objects.get().last_checked_at is not None


def test_the_dashboard_has_an_agents_row(client_for: Any) -> None:
    tie_agents()
    make_runs(20, timezone.now())
    client = client_for("viewer")
    assert 'hx-get="/agents/row/"' in client.get(reverse("monitoring:dashboard")).content.decode()
    row = client.get(reverse("monitoring:agents_row")).content.decode()
    assert 'data-testid="dashboard-agents"' in row and 'data-agent="content"' in row


def test_editors_add_and_edit_agents_and_it_is_audited(client_for: Any) -> None:
    svc = service("planner-svc")
    data = {
        "slug": "planner",
        "name": "Planner",
        "kind": "other",
        "service": svc.pk,
        "poll_interval_seconds": 30,
        "position": 7,
    }
    response = client_for("editor").post(reverse("monitoring:agent_create"), data)
    assert response.status_code == 302
    assert Agent.objects.get(slug="planner").service == svc
    data["poll_url"] = "ftp://nope"
    response = client_for("editor").post(reverse("monitoring:agent_edit", args=["planner"]), data)
    assert response.status_code == 200 and "Only http:// and https:// URLs" in response.content.decode()
    assert AuditRecord.objects.filter(
        object_type="monitoring.agent", object_id=str(Agent.objects.get(slug="planner").pk)
    ).exists()


def test_the_log_view_filters_and_tails(client_for: Any) -> None:
    api, agents_svc = service("api"), tie_agents()
    now = timezone.now()
    content = Agent.objects.get(slug="content")
    old = LogLine.objects.create(service=api, at=now - dt.timedelta(hours=3), level="info", message="api started")
    LogLine.objects.create(service=agents_svc, agent=content, at=now, level="error", message="model call failed")
    LogLine.objects.create(service=agents_svc, at=now, level="warning", message="slow <script>x</script>")
    client = client_for("viewer")
    page = client.get(reverse("monitoring:logs")).content.decode()
    assert "api started" in page and "model call failed" in page and "&lt;script&gt;" in page
    page = client.get(reverse("monitoring:logs"), {"level": "warning"}).content.decode()
    assert "api started" not in page and "slow" in page
    page = client.get(reverse("monitoring:logs"), {"agent": "content", "q": "MODEL"}).content.decode()
    assert "model call failed" in page and "slow" not in page
    since = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert "api started" not in client.get(reverse("monitoring:logs"), {"since": since}).content.decode()
    tail = client.get(reverse("monitoring:logs_tail"), {"after": old.pk, "level": "error"}).content.decode()
    assert "model call failed" in tail and "slow" not in tail and 'hx-swap-oob="afterbegin:#log-rows"' in tail
    newest = LogLine.objects.order_by("-id").first().pk
    assert "<tr" not in client.get(reverse("monitoring:logs_tail"), {"after": newest}).content.decode()


def test_a_providers_last_check_reads_as_an_age_with_the_instant_in_its_tooltip(client_for: Any) -> None:
    checked = timezone.now() - dt.timedelta(minutes=3)
    ModelProvider.objects.create(
        name="openai", label="OpenAI", kind="openai", base_url="http://127.0.0.1:9", position=1, state="up",
        last_checked_at=checked,
    )  # fmt: skip
    page = client_for("viewer").get(reverse("monitoring:agents")).content.decode()
    row = re.search(r'<tr data-provider="openai">(.*?)</tr>', page, re.S).group(1)
    assert f'title="{checked:%Y-%m-%d %H:%M:%S} UTC">3 min ago</span>' in row
    assert checked.isoformat()[:19] not in row  # not the raw ISO text of the status payload


def test_the_chain_strip_fits_a_long_provider_name_instead_of_cutting_it() -> None:
    providers = [
        {"name": "ollama", "label": "Ollama (local)", "state": "up", "share_1h_percent": 0.0},
        {"name": "azure", "label": "Azure OpenAI, West Europe deployment", "state": "up", "share_1h_percent": 0.0},
    ]
    svg = charts.chain_strip(providers)
    sizes = [int(n) for n in re.findall(r'font-size="(\d+)" font-weight="600"', svg)]
    assert ">1. Ollama (local)</text>" in svg and sizes[0] < 13  # whole, in a smaller type
    assert ">2. Azure OpenAI, West\u2026</text>" in svg and sizes[1] == 9  # past 22 characters: an ellipsis
    assert "<title>azure: up</title>" in svg  # the tooltip keeps the provider's name
