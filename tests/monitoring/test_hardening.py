"""Issue 10's seen cases, each as written: probe and channel targets (SSRF), what a failing check
echoes, and the hostile bodies sent to the ingest API and the services import."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert, Deployment, MetricSample, NotificationChannel, Service
from monitoring.services.choices import CheckType
from monitoring.services.dispatch import probe_now
from monitoring.services.probes import ProbeSpec, sweep
from monitoring.services.validators import validate_probe_url
from opsportal import netguard
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.services.http_targets import AWS_EXAMPLE_SECRET, serve

SEEN_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://2852039166/",
    "http://0177.0.0.1/",
]
DENIED = "address 169.254.169.254 is in a denied network (169.254.169.254/32); see PROBE_DENY_NETWORKS"


def one(spec: ProbeSpec) -> Any:
    (outcome,) = sweep([spec])
    return outcome


# Server-side request forgery -------------------------------------------------------------------


@pytest.mark.parametrize("url", SEEN_URLS)
def test_validate_probe_url_refuses_each_seen_url(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_probe_url(url)
    assert "denied network" in caught.value.messages[0] or "write the address as 127.0.0.1" in caught.value.messages[0]


@pytest.mark.django_db
def test_the_service_form_refuses_the_metadata_url(client_for: Any) -> None:
    response = client_for("editor").post(
        reverse("monitoring:service_create"),
        {
            "name": "Meta",
            "slug": "meta",
            "check_type": "http",
            "url": "http://169.254.169.254/latest/meta-data/",
            "method": "GET",
            "accepted_statuses": "200-299",
            "interval_seconds": 60,
            "timeout_seconds": 5,
            "fail_threshold": 2,
            "recover_threshold": 1,
            "degraded_latency_ms": 2000,
            "body_limit_bytes": 1048576,
            "max_redirects": 5,
            "headers": "{}",
            "secret_headers": "{}",
        },
    )
    assert response.status_code == 200
    assert "169.254.169.254 is in a denied network" in response.content.decode()
    assert not Service.objects.filter(slug="meta").exists()


@pytest.mark.django_db
def test_tcp_host_is_checked_at_save_time() -> None:
    service = Service(slug="t", name="T", check_type=CheckType.TCP, host="169.254.169.254", port=80)
    with pytest.raises(ValidationError) as caught:
        service.full_clean()
    assert "169.254.169.254" in str(caught.value.message_dict["host"])


@pytest.mark.django_db
def test_a_name_resolving_to_loopback_at_save_time_and_metadata_at_connect_time_is_refused_at_connect() -> None:
    with serve() as target:
        port = target.server_address[1]
        url = f"http://rebind.example.test:{port}/health"
        with netguard.using_resolver(lambda host, p: ["127.0.0.1"]):
            validate_probe_url(url)  # saved: it resolves to loopback now
            service = Service(slug="rebind", name="Rebind", url=url)
            service.full_clean()
        with netguard.using_resolver(lambda host, p: ["169.254.169.254"]):
            outcome = one(ProbeSpec(1, url=url, timeout=3))
    assert not outcome.ok
    assert outcome.error == DENIED
    assert target.requests == []


def test_a_redirect_from_an_allowed_loopback_target_to_a_denied_address_is_refused() -> None:
    with serve() as target:
        outcome = one(
            ProbeSpec(1, url=target.url("/redirect-to?url=http://169.254.169.254/latest/meta-data/"), timeout=3)
        )
        assert [path for _m, path, _h in target.requests] == ["/redirect-to"]
    assert not outcome.ok and outcome.status_code == 302
    assert outcome.error == DENIED


def test_tcp_and_postgresql_checks_obey_the_deny_list() -> None:
    tcp = one(ProbeSpec(1, check_type=CheckType.TCP, host="2852039166", port=80, timeout=2))
    assert not tcp.ok and tcp.error == DENIED
    with netguard.using_resolver(lambda host, p: ["fd00:ec2::254"]):
        tcp = one(ProbeSpec(1, check_type=CheckType.TCP, host="db.example.test", port=5432, timeout=2))
    assert not tcp.ok and "fd00:ec2::254" in tcp.error
    pg = one(
        ProbeSpec(
            1,
            check_type=CheckType.POSTGRES,
            dsn="postgresql://app:hunter2@169.254.169.254:5432/app",
            dsn_env="APP_DSN",
            timeout=2,
        )
    )
    assert not pg.ok and pg.error == f"PostgreSQL: {DENIED}"
    assert "hunter2" not in pg.error


@pytest.mark.django_db
def test_postgresql_check_connects_to_the_checked_address() -> None:
    from django.db import connection

    s = connection.settings_dict
    port = s["PORT"] or 5432
    dsn = f"postgresql://{s['USER']}@pg.example.test:{port}/{s['NAME']}"
    with netguard.using_resolver(lambda host, p: ["127.0.0.1"]):
        assert one(ProbeSpec(1, check_type=CheckType.POSTGRES, dsn=dsn, dsn_env="X", timeout=5)).ok
    with netguard.using_resolver(lambda host, p: ["169.254.169.254"]):
        failed = one(ProbeSpec(1, check_type=CheckType.POSTGRES, dsn=dsn, dsn_env="X", timeout=5))
    assert not failed.ok and DENIED in failed.error


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["json://169.254.169.254/hook", "json://2852039166/hook", "jsons://[fd00:ec2::254]/x"])
def test_channel_urls_are_checked_at_save_time(url: str, client_for: Any) -> None:
    response = client_for("admin").post(
        reverse("monitoring:channel_create"),
        {
            "name": "meta",
            "kind": "apprise",
            "url": url,
            "min_severity": "warning",
            "enabled": "on",
            "repeat_minutes": 0,
        },
    )
    assert response.status_code == 200
    assert "denied network" in response.content.decode()
    assert not NotificationChannel.objects.exists()


@pytest.mark.django_db
def test_channel_delivery_is_checked_at_connect_time(receiver: Any) -> None:
    from monitoring.alerts.notify import deliver

    url = f"json://hook.example.test:{receiver.port}/hook"
    with netguard.using_resolver(lambda host, p: ["127.0.0.1"]):
        channel = NotificationChannelFactory(name="hook", url=url)
        assert deliver(channel, "title", "body").ok
    with netguard.using_resolver(lambda host, p: ["169.254.169.254"]):
        result = deliver(channel, "title", "body")
    assert not result.ok
    assert len(receiver.received) == 1


# What a failing check echoes -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_secret_found_by_a_json_check_reaches_no_reason_alert_notification_or_api(
    token_for: Any, receiver: Any
) -> None:
    secret = AWS_EXAMPLE_SECRET
    with serve() as target:
        service = Service.objects.create(
            slug="creds",
            name="Creds",
            url=target.url("/aws-credentials"),
            expect_json_path="SecretAccessKey",
            expect_json_value="anything",
            fail_threshold=1,
        )
        NotificationChannelFactory(name="hook", url=receiver.url(), min_severity="info")
        report = probe_now([service])
    (_svc, outcome) = report.rows[0]
    service.refresh_from_db()
    assert (
        outcome.error
        == "JSON SecretAccessKey does not match the expected value (its value is not shown: the key looks secret)"
    )
    from monitoring.alerts.alerting import process_flips
    from monitoring.alerts.notify import run_once

    process_flips()  # the flip raises the alert ...
    run_once()  # ... and the channel hears of it
    assert receiver.received, "the notification was sent"
    alert = Alert.objects.get(service=service)
    api = Client().get(
        reverse("monitoring:api_service", kwargs={"slug": "creds"}), HTTP_AUTHORIZATION=f"Bearer {token_for('viewer')}"
    )
    for text in (
        service.status_reason,
        service.last_error,
        alert.summary,
        api.content.decode(),
        json.dumps(receiver.received),
    ):
        assert secret not in text
        assert "wJalr" not in text


def test_a_long_value_is_echoed_as_a_short_single_line_excerpt() -> None:
    value = "line one\nline two " + "x" * 500
    with serve() as target:
        outcome = one(
            ProbeSpec(
                1,
                url=target.url(f"/json?body={json.dumps({'status': value})}"),
                expect_json_path="status",
                expect_json_value="healthy",
                timeout=3,
            )
        )
    assert not outcome.ok
    quoted = outcome.error.split(" is ", 1)[1].split(", expected", 1)[0]
    assert "\n" not in outcome.error and len(quoted) <= 62  # 60 characters and the quotes
    assert quoted.startswith("'line one line two xxx") and quoted.endswith("…'")


# Bad input never gets a 500 --------------------------------------------------------------------


def _post(name: str, raw: str | bytes, token: str, content_type: str = "application/json") -> Any:
    return Client().post(reverse(name), data=raw, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def editor(token_for: Any) -> str:
    return token_for("editor")


def _now_iso() -> str:
    return timezone.now().isoformat()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "index", "field", "message"),
    [
        (
            '[{"metric": "memory_usage", "value": ' + "9" * 400 + "}]",
            0,
            "value",
            "number with 400 digits; at most 40 characters",
        ),
        (
            '[{"metric": "memory_usage", "value": 1, "at": ' + "9" * 400 + "}]",
            0,
            "at",
            "number with 400 digits; at most 40 characters",
        ),
        ('[{"metric": "memory\\u0000usage", "value": 1}]', 0, "metric", "contains a NUL character (\\u0000)"),
        (
            '[{"metric": "memory_usage", "service": "a\\u0000", "value": 1}]',
            0,
            "service",
            "contains a NUL character (\\u0000)",
        ),
        ('[{"metric": "\\ud800", "value": 1}]', 0, "metric", "contains a lone surrogate (\\ud800); send valid Unicode"),
        (
            '[{"metric": "memory_usage", "value": 1, "at": "2026-12-01T19:00:00+23:59"}]',
            0,
            "at",
            "has a UTC offset beyond ±15:59, which PostgreSQL cannot store",
        ),
    ],
)
def test_ingest_metrics_seen_cases(editor: str, raw: str, index: int, field: str, message: str) -> None:
    response = _post("monitoring:api_ingest_metrics", raw, editor)
    assert response.status_code == 400
    assert {"index": index, "field": field, "message": message} in response.json()["errors"]
    assert not MetricSample.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["monitoring:api_ingest_metrics", "monitoring:api_ingest_deployments"])
def test_ingest_nesting_size_and_content_type(editor: str, name: str) -> None:
    nested = _post(name, "[" * 100000 + "]" * 100000, editor)
    assert nested.status_code == 400 and nested.json()["error"] == "JSON nested deeper than 32 levels"
    big = _post(name, json.dumps([{"metric": "memory_usage", "value": 1, "pad": "x" * 2_700_000}]), editor)
    assert big.status_code == 413 and big["Content-Type"] == "application/json"
    plain = _post(name, '[{"metric": "memory_usage", "value": 1}]', editor, content_type="text/plain")
    assert plain.status_code == 415
    assert plain.json()["errors"] == [{"field": "Content-Type", "message": "Content-Type must be application/json"}]
    assert not MetricSample.objects.exists() and not Deployment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"version": "v1\u0000"}, "version", "contains a NUL character (\\u0000)"),
        ({"service": "web\u0000"}, "service", "contains a NUL character (\\u0000)"),
        ({"version": "\ud800"}, "version", "contains a lone surrogate (\\ud800); send valid Unicode"),
        ({"at": "2026-12-01T19:00:00+23:59"}, "at", "has a UTC offset beyond ±15:59, which PostgreSQL cannot store"),
        ({"at": int("9" * 400)}, "at", "number with 400 digits; at most 40 characters"),
    ],
)
def test_ingest_deployments_seen_cases(editor: str, item: dict[str, Any], field: str, message: str) -> None:
    Service.objects.create(slug="web", name="Web", url="http://127.0.0.1:9/")
    body = json.dumps([{"service": "web", "version": "v1", "status": "succeeded", **item}])
    response = _post("monitoring:api_ingest_deployments", body, editor)
    assert response.status_code == 400
    assert {"index": 0, "field": field, "message": message} in response.json()["errors"]
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_one_batch_limit_for_deployments_and_metrics(editor: str) -> None:
    Service.objects.create(slug="web", name="Web", url="http://127.0.0.1:9/")
    rows = [{"service": "web", "version": f"v{n}", "status": "succeeded"} for n in range(10_000)]
    response = _post("monitoring:api_ingest_deployments", json.dumps(rows), editor)
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"field": "deployments", "message": "the batch has 10000 items; at most 1000 are accepted at once"}
    ]
    samples = [{"metric": "memory_usage", "value": n} for n in range(1001)]
    response = _post("monitoring:api_ingest_metrics", json.dumps(samples), editor)
    assert response.status_code == 413
    assert not Deployment.objects.exists() and not MetricSample.objects.exists()


def _import(client: Any, raw: str | bytes) -> Any:
    upload = SimpleUploadedFile("services.json", raw.encode() if isinstance(raw, str) else raw, "application/json")
    return client.post(reverse("monitoring:services_import"), {"file": upload})


def _entry(**fields: Any) -> dict[str, Any]:
    return {"slug": "api", "name": "API", "url": "http://127.0.0.1:9/health", **fields}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (json.dumps({"services": [_entry(tags=[1, 2])]}), "entry 1 (api): tags: "),
        (json.dumps({"services": [_entry(name="A\u0000B")]}), "services[0].name: contains a NUL character"),
        ('{"services": [{"slug": "api", "name": "\\ud800"}]}', "services[0].name: contains a lone surrogate"),
        ('{"services": ' + "[" * 50000 + "]" * 50000 + "}", "JSON nested deeper than 32 levels"),
        ('{"services": [{"slug": "api", "name": "API", "timeout_seconds": NaN}]}', "services[0].timeout_seconds: NaN"),
    ],
)
def test_services_import_seen_cases(client_for: Any, raw: str, needle: str) -> None:
    response = _import(client_for("editor"), raw)
    assert response.status_code == 400
    assert needle in response.content.decode()
    assert not Service.objects.exists()


@pytest.mark.django_db
def test_services_import_still_imports_a_good_file(client_for: Any) -> None:
    response = _import(client_for("editor"), json.dumps({"services": [_entry(tags=["prod"], timeout_seconds=5)]}))
    assert response.status_code == 302
    assert Service.objects.get(slug="api").timeout_seconds == 5


@pytest.mark.django_db
def test_an_api_time_is_stored_in_utc(editor: str) -> None:
    Service.objects.create(slug="web", name="Web", url="http://127.0.0.1:9/")
    at = (timezone.now() - dt.timedelta(minutes=1)).astimezone(dt.timezone(dt.timedelta(hours=15, minutes=59)))
    response = _post(
        "monitoring:api_ingest_deployments",
        json.dumps({"service": "web", "version": "v9", "status": "succeeded", "at": at.isoformat()}),
        editor,
    )
    assert response.status_code == 201, response.content
    assert Deployment.objects.get().at == at
