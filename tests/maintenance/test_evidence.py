"""Evidence next to the boxes, from the providers other apps register by name (no cross-imports)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from maintenance.checklists import tick
from maintenance.models import Incident
from monitoring.models import CheckResult
from monitoring.public import evidence, evidence_providers
from monitoring.services.rollups import rollup
from tests.conftest import PASSWORD
from tests.maintenance.fixtures import daily_item, daily_period
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def probe_history(now: dt.datetime) -> None:
    api, web = ServiceFactory(slug="api", name="API"), ServiceFactory(slug="web", name="Web")
    rows = []
    for i in range(200):
        at = now - dt.timedelta(minutes=i * 5 + 1)
        rows.append(CheckResult(service=api, at=at, ok=i % 100 != 0, latency_ms=100 + i))
        rows.append(CheckResult(service=web, at=at, ok=True, latency_ms=40))
    CheckResult.objects.bulk_create(rows)
    rollup(now)


def test_every_named_provider_is_registered() -> None:
    wanted = {
        "services_now",
        "error_rate",
        "service_performance",
        "backup_runs",
        "backup_verification",
        "backup_drill",
        "sign_ins",
    }
    assert wanted <= set(evidence_providers())
    assert evidence("dependency_findings") is None or "dependency_findings" in evidence_providers()


def test_error_rate_and_performance_from_probe_rollups(users: dict[str, Any]) -> None:
    now = timezone.now()
    probe_history(now)
    rate = evidence("error_rate", start=now - dt.timedelta(hours=6), end=now + dt.timedelta(hours=18))
    # The period started 6 h ago: 72 checks per service, one of them a failure of the API.
    assert rate["ok"] is True and rate["meets_target"] is False
    assert rate["rate_percent"] == round(100 / 144, 4) and "over 144 checks (target < 0.1 %" in rate["summary"]
    perf = evidence("service_performance", start=now - dt.timedelta(days=7), end=now)
    by = {s["service"]: s for s in perf["services"]}
    assert by["Web"]["uptime"] == 1.0 and by["API"]["uptime"] < 1.0
    assert by["API"]["p95_ms"] > by["Web"]["p95_ms"]
    item = daily_item("Monitor error rates")
    expected = evidence("error_rate", start=item.period.starts_at, end=item.period.ends_at)
    tick(item, users["editor"])
    item.refresh_from_db()
    assert item.evidence["rate_percent"] == expected["rate_percent"] and item.evidence_fresh


def test_sign_in_history_for_review_access_logs(users: dict[str, Any], settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    login = reverse("login")
    client = Client(REMOTE_ADDR="10.0.0.7")
    client.post(login, {"username": "vera-viewer", "password": PASSWORD})
    intruder = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(4):
        intruder.post(login, {"username": "ada-admin", "password": "wrong"})
    now = timezone.now()
    facts = evidence("sign_ins", start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1))
    assert facts["successes"] == 1 and facts["failures"] >= 3
    assert facts["lockouts"] == ["ada-admin from 10.9.9.9"] and facts["ok"] is False
    assert facts["new_addresses"] == ["10.0.0.7"]


def test_backup_evidence_without_backups_is_not_fresh() -> None:
    for name in ("backup_runs", "backup_verification", "backup_drill"):
        answer = evidence(name, start=timezone.now() - dt.timedelta(days=1), end=timezone.now())
        assert answer["fresh"] is False, name


def test_dashboard_shows_todays_checklists_and_open_incidents(users: dict[str, Any], client_for: Any) -> None:
    period = daily_period()
    tick(period.items.first(), users["editor"])
    Incident.objects.create(title="API is down: HTTP 503")
    page = client_for("viewer").get(reverse("monitoring:dashboard")).content.decode()
    assert 'data-testid="dashboard-maintenance"' in page
    assert f"Daily {period.key}" in page and "1 of 3 ticked" in page
    assert "1 open incident" in page and "API is down: HTTP 503" in page
