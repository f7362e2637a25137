"""Ingest API: batches of samples (all or nothing, every error listed) and deployment events."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from monitoring.metrics.evaluation import evaluate
from monitoring.models import Alert, Deployment, MetricSample, MetricSeries
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def post(url_name: str, body: Any, token: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Client().post(reverse(url_name), data=raw, content_type="application/json", **headers)


@pytest.fixture
def editor_token(token_for: Any) -> str:
    return token_for("editor")


def test_a_good_batch_is_stored_and_moves_the_latest_values(editor_token: str) -> None:
    ServiceFactory(slug="api")
    with time_machine.travel(T0, tick=False):
        response = post(
            "monitoring:api_ingest_metrics",
            {
                "samples": [
                    {"metric": "error_rate", "service": "api", "value": 0.4, "at": "2026-03-02T08:58:00Z"},
                    {"metric": "error_rate", "service": "api", "value": 1.6, "at": T0.timestamp() - 60},
                    {"metric": "memory_usage", "value": 71},
                ]
            },
            editor_token,
        )
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": 3, "series": 2}
    series = MetricSeries.objects.get(metric__key="error_rate", label="push:api")
    assert series.service.slug == "api" and series.last_value == 1.6 and series.last_at == T0 - dt.timedelta(minutes=1)
    assert MetricSeries.objects.get(metric__key="memory_usage", label="push").last_at == T0


def test_a_bad_batch_is_rejected_whole_with_every_error_listed(editor_token: str) -> None:
    ServiceFactory(slug="api")
    with time_machine.travel(T0, tick=False):
        response = post(
            "monitoring:api_ingest_metrics",
            [
                {"metric": "memory_usage", "value": 50},  # fine on its own, but the batch is rejected
                {"metric": "no_such_metric", "value": 1},
                {"metric": "memory_usage", "value": "high"},
                {"metric": "memory_usage", "value": True},
                {"metric": "memory_usage", "service": "ghost", "value": 1},
                {"metric": "memory_usage", "value": 1, "at": "2026-03-02T09:00:00"},
                {"metric": "memory_usage", "value": 1, "at": "2026-03-02T10:00:00Z"},
                {"metric": "memory_usage", "value": 1, "at": "yesterday"},
                {"metric": "memory_usage", "value": 1, "colour": "red"},
                {"value": 1},
                "just a string",
            ],
            editor_token,
        )
    assert response.status_code == 400
    body = response.json()
    found = {(e["index"], e["field"]) for e in body["errors"]}
    assert found == {
        (1, "metric"),
        (2, "value"),
        (3, "value"),
        (4, "service"),
        (5, "at"),
        (6, "at"),
        (7, "at"),
        (8, "colour"),
        (9, "metric"),
        (10, "sample"),
    }
    assert "nothing was stored" in body["error"] and "10 error(s)" in body["error"]
    messages = {(e["index"], e["field"]): e["message"] for e in body["errors"]}
    assert messages[(5, "at")] == "must include a timezone (for example Z or +02:00)"
    assert messages[(6, "at")] == "is more than 5 minutes in the future"
    assert messages[(1, "metric")] == "unknown metric 'no_such_metric'"
    assert not MetricSample.objects.exists() and not MetricSeries.objects.exists()


def test_a_value_json_cannot_hold_is_refused_by_the_parsing_layer(editor_token: str) -> None:
    """NaN (and 400-digit numbers, NUL, lone surrogates) never reach the batch checks: refused as read."""
    with time_machine.travel(T0, tick=False):
        response = post(
            "monitoring:api_ingest_metrics",
            [{"metric": "memory_usage", "value": 50}, {"metric": "memory_usage", "value": float("nan")}],
            editor_token,
        )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "field": "value", "message": "NaN is not a number JSON allows"}]
    assert not MetricSample.objects.exists()


def test_batch_size_limit_and_malformed_bodies(editor_token: str, settings: Any) -> None:
    settings.API_MAX_BATCH = 3
    response = post(
        "monitoring:api_ingest_metrics", [{"metric": "memory_usage", "value": n} for n in range(4)], editor_token
    )
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"field": "samples", "message": "the batch has 4 items; at most 3 are accepted at once"}
    ]
    response = post("monitoring:api_ingest_metrics", "{not json", editor_token)
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    response = post("monitoring:api_ingest_metrics", {"sample": []}, editor_token)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "body"
    assert not MetricSample.objects.exists()


def test_ingest_needs_a_token_with_the_ingest_permission(token_for: Any) -> None:
    body = [{"metric": "memory_usage", "value": 1}]
    assert post("monitoring:api_ingest_metrics", body, None).status_code == 401
    assert post("monitoring:api_ingest_metrics", body, token_for("viewer")).status_code == 403
    assert post("monitoring:api_ingest_metrics", body, token_for("admin", role="Viewer")).status_code == 403
    assert post("monitoring:api_ingest_metrics", body, token_for("admin")).status_code == 200


def test_pushed_values_are_evaluated_into_alerts(editor_token: str) -> None:
    ServiceFactory(slug="api", name="API")
    with time_machine.travel(T0, tick=False):
        post("monitoring:api_ingest_metrics", [{"metric": "error_rate", "service": "api", "value": 3.5}], editor_token)
        evaluate(compute=False)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        post("monitoring:api_ingest_metrics", [{"metric": "error_rate", "service": "api", "value": 4.0}], editor_token)
        evaluate(compute=False)
    alert = Alert.objects.get(dedup_key="metric:error_rate:push:api")
    assert alert.runbook == "High Error Rate" and alert.summary == "Error Rate is 4% on API (pushed) (alert if >1%)"


def test_a_failed_deployment_raises_an_alert_and_a_good_one_resolves_it(editor_token: str) -> None:
    ServiceFactory(slug="api", name="API")
    response = post(
        "monitoring:api_ingest_deployments", {"service": "api", "version": "v2.3.1", "status": "failed"}, editor_token
    )
    assert response.status_code == 201
    alert = Alert.objects.get(dedup_key="deployment:api:failed")
    assert response.json()["alert"] == alert.pk
    assert alert.severity == "critical" and alert.runbook == "Emergency Rollback" and alert.source == "deployments"
    assert alert.summary == "Deployment of v2.3.1 to API failed"
    response = post(
        "monitoring:api_ingest_deployments",
        {"service": "api", "version": "v2.3.2", "status": "succeeded"},
        editor_token,
    )
    assert response.status_code == 201 and response.json()["alert"] is None
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.events.last().note == "v2.3.2 deployed"
    assert list(Deployment.objects.order_by("at").values_list("version", "status")) == [
        ("v2.3.1", "failed"),
        ("v2.3.2", "succeeded"),
    ]


def test_bad_deployment_events_list_every_error(editor_token: str) -> None:
    response = post(
        "monitoring:api_ingest_deployments",
        {"deployments": [{"service": "ghost", "version": "", "status": "exploded"}, {"service": "x"}]},
        editor_token,
    )
    assert response.status_code == 400
    found = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert found == {(0, "service"), (0, "version"), (0, "status"), (1, "service"), (1, "version"), (1, "status")}
    assert not Deployment.objects.exists()
