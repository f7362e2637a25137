"""Service pages: editing with clear field errors, secrets never shown, probe now, import/export."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from monitoring.models import CheckResult, Service, ServiceFlip
from monitoring.services.choices import ServiceStatus
from opsportal.models import AuditRecord
from tests.monitoring.services.factories import ServiceFactory
from tests.monitoring.services.http_targets import serve
from tests.monitoring.services.routes import _new_service

pytestmark = pytest.mark.django_db


def form_data(**changes: Any) -> dict[str, Any]:
    return {**_new_service({}), **changes}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com/health", "Only http:// and https:// URLs can be probed."),
        ("https://admin:hunter2@api.example.com/health", "Do not put credentials in the URL"),
        ("http:///health", "The URL has no host."),
        ("file:///etc/passwd", "Only http:// and https:// URLs can be probed."),
    ],
)
def test_bad_urls_are_refused_with_a_message_on_the_url_field(
    url: str, message: str, client_for: Callable[[str], Client]
) -> None:
    response = client_for("editor").post(reverse("monitoring:service_create"), form_data(url=url))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["url"] and message in errors["url"][0]
    assert "hunter2" not in response.content.decode().split('name="url"')[0]  # not echoed before the field
    assert not Service.objects.exists()


def test_credentials_in_plain_headers_are_refused_and_secret_headers_name_a_variable(
    client_for: Callable[[str], Client],
) -> None:
    client = client_for("editor")
    response = client.post(
        reverse("monitoring:service_create"),
        form_data(headers="Authorization: Bearer abc", secret_headers="X-Key: lower-case"),
    )
    errors = response.context["form"].errors
    assert "looks like a credential" in errors["headers"][0]
    assert "is not an environment variable name" in errors["secret_headers"][0]
    response = client.post(
        reverse("monitoring:service_create"),
        form_data(
            name="API",
            headers="X-Trace: portal",
            secret_headers="Authorization: API_HEALTH_TOKEN",
            tags_text="team-ai, Tier 1",
        ),
    )
    assert response.status_code == 302
    service = Service.objects.get(slug="api")
    assert service.secret_headers == {"Authorization": "API_HEALTH_TOKEN"}
    assert sorted(t.name for t in service.tags.all()) == ["team-ai", "tier-1"]


def test_secret_values_from_the_environment_never_appear_on_pages_or_api(
    client_for: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_HEALTH_TOKEN", "Bearer top-secret-value")
    with serve() as target:
        service = ServiceFactory(
            slug="api", url=target.url("/echo-headers"), secret_headers={"Authorization": "API_HEALTH_TOKEN"}
        )
        client = client_for("editor")
        client.post(reverse("monitoring:service_probe", args=["api"]))
        assert target.requests[-1][2]["Authorization"] == "Bearer top-secret-value"
    pages = [
        client.get(reverse("monitoring:service", args=["api"])),
        client.get(reverse("monitoring:service_edit", args=["api"])),
        client.get(reverse("monitoring:api_service", args=["api"])),
        client.get(reverse("monitoring:services_export")),
    ]
    for page in pages:
        assert page.status_code == 200
        assert b"top-secret-value" not in page.content
    assert b"API_HEALTH_TOKEN" in pages[0].content
    assert not AuditRecord.objects.filter(summary__contains="top-secret").exists()
    assert Service.objects.get(pk=service.pk).status == ServiceStatus.UP


def test_probe_now_records_a_result_and_an_audit_record(client_for: Callable[[str], Client], users: Any) -> None:
    with serve() as target:
        ServiceFactory(slug="api", url=target.url("/status/503"), fail_threshold=1)
        response = client_for("editor").post(reverse("monitoring:service_probe", args=["api"]), follow=True)
    assert "Probed Api: failed, HTTP 503" in response.content.decode()
    assert CheckResult.objects.get().error == "HTTP 503, expected 200-299"
    record = AuditRecord.objects.get(action=AuditRecord.Action.ACTION, object_type="monitoring.service")
    assert record.actor_name == users["editor"].username
    assert record.summary.startswith("probed now: failed, HTTP 503")
    assert Service.objects.get(slug="api").status == ServiceStatus.DOWN


def test_probe_now_on_a_hanging_target_waits_a_bounded_time_then_hands_over(
    client_for: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.utils import timezone

    from monitoring.services import views as service_views

    monkeypatch.setattr(service_views, "PROBE_NOW_WAIT_SECONDS", 0.5)
    with serve() as target:
        service = ServiceFactory(
            slug="api",
            url=target.url("/hang"),
            timeout_seconds=30.0,
            interval_seconds=300,
            next_due_at=timezone.now() + dt.timedelta(minutes=4),
        )
        response = client_for("editor").post(reverse("monitoring:service_probe", args=["api"]), follow=True)
    assert "Api did not answer within 0.5 s. The probe worker runs it next, with its full 30 s timeout" in (
        response.content.decode()
    )
    assert not CheckResult.objects.exists()  # cut short: no "failed" result for a probe that did not end
    service.refresh_from_db()
    assert service.claim_token == "" and service.claimed_until is None
    assert service.next_due_at <= timezone.now()  # the dispatcher's next tick claims it
    record = AuditRecord.objects.get(action=AuditRecord.Action.ACTION, object_type="monitoring.service")
    assert record.summary == "probed now: no answer within 0.5 s, handed to the dispatcher"


def test_editing_config_never_overwrites_state_written_by_a_probe(client_for: Callable[[str], Client]) -> None:
    service = ServiceFactory(slug="api", kind="frontend", url="http://127.0.0.1:9/", timeout_seconds=5.0)
    client = client_for("editor")
    page = client.get(reverse("monitoring:service_edit", args=["api"]))
    assert page.status_code == 200
    # A probe lands while the editor has the form open.
    Service.objects.filter(pk=service.pk).update(
        status=ServiceStatus.DOWN, consecutive_failures=4, last_error="timed out"
    )
    response = client.post(reverse("monitoring:service_edit", args=["api"]), form_data(name="API v2", slug="api"))
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.name, service.status, service.consecutive_failures) == ("API v2", ServiceStatus.DOWN, 4)
    change = AuditRecord.objects.filter(action=AuditRecord.Action.UPDATE, object_type="monitoring.service").latest("at")
    assert set(change.changes) == {"name"}


def test_disabling_a_service_pauses_it_with_a_flip(client_for: Callable[[str], Client]) -> None:
    ServiceFactory(slug="api", status=ServiceStatus.UP)
    data = form_data(name="API", slug="api")
    data.pop("enabled")
    client_for("editor").post(reverse("monitoring:service_edit", args=["api"]), data)
    assert Service.objects.get(slug="api").status == ServiceStatus.PAUSED
    assert ServiceFlip.objects.get().new_status == ServiceStatus.PAUSED


def test_delete_removes_history_and_is_audited(client_for: Callable[[str], Client]) -> None:
    service = ServiceFactory(slug="api")
    CheckResult.objects.create(service=service, at=service.created_at, ok=True, latency_ms=3.0)
    response = client_for("editor").post(reverse("monitoring:service_delete", args=["api"]))
    assert response.status_code == 302
    assert not Service.objects.exists() and not CheckResult.objects.exists()
    assert AuditRecord.objects.filter(action=AuditRecord.Action.DELETE, object_repr="Api").exists()


def test_export_then_import_is_idempotent_by_slug(client_for: Callable[[str], Client]) -> None:
    parent = ServiceFactory(slug="api", tags=["backend"], expect_json_path="status", expect_json_value="healthy")
    ServiceFactory(
        slug="agents", parent=parent, tags=["ai", "backend"], secret_headers={"Authorization": "AGENT_TOKEN"}
    )
    client = client_for("editor")
    exported = client.get(reverse("monitoring:services_export"))
    assert exported["Content-Disposition"].startswith('attachment; filename="services-')
    data = json.loads(exported.content)
    assert [s["slug"] for s in data["services"]] == ["agents", "api"]
    assert data["services"][0]["parent"] == "api" and "status" not in data["services"][0]
    Service.objects.all().delete()

    def upload(payload: Any) -> Any:
        body = json.dumps(payload).encode()
        return client.post(
            reverse("monitoring:services_import"), {"file": SimpleUploadedFile("s.json", body)}, follow=True
        )

    first = upload(data)
    assert "Import done: 2 created, 0 updated, 0 unchanged." in first.content.decode()
    again = upload(data)
    assert "Import done: 0 created, 0 updated, 2 unchanged." in again.content.decode()
    agents = Service.objects.get(slug="agents")
    assert agents.parent.slug == "api" and sorted(t.name for t in agents.tags.all()) == ["ai", "backend"]
    data["services"][1]["interval_seconds"] = 30
    assert "0 created, 1 updated, 1 unchanged" in upload(data).content.decode()
    assert Service.objects.get(slug="api").interval_seconds == 30


def test_a_bad_import_changes_nothing_and_lists_every_error(client_for: Callable[[str], Client]) -> None:
    ServiceFactory(slug="api", interval_seconds=60)
    payload = {
        "services": [
            {"slug": "api", "interval_seconds": 15},
            {"slug": "new-one", "url": "ftp://x/y"},
            {"slug": "other", "url": "http://127.0.0.1:9/", "colour": "red"},
            {"slug": "child", "url": "http://127.0.0.1:9/", "parent": "missing"},
        ]
    }
    body = json.dumps(payload).encode()
    response = client_for("editor").post(
        reverse("monitoring:services_import"), {"file": SimpleUploadedFile("s.json", body)}
    )
    text = response.content.decode()
    assert "import refused" in text and "nothing was changed" in text
    assert "url: Only http:// and https:// URLs can be probed." in text
    assert "unknown field(s) colour" in text
    assert "parent &#x27;missing&#x27; is not a known service" in text
    assert Service.objects.get(slug="api").interval_seconds == 60
    assert Service.objects.count() == 1
    not_json = client_for("editor").post(
        reverse("monitoring:services_import"), {"file": SimpleUploadedFile("s.json", b"{nope")}
    )
    assert "The file is not valid JSON" in not_json.content.decode()


def test_viewers_see_no_edit_or_probe_buttons(client_for: Callable[[str], Client]) -> None:
    ServiceFactory(slug="api")
    viewer_page = client_for("viewer").get(reverse("monitoring:service", args=["api"])).content.decode()
    editor_page = client_for("editor").get(reverse("monitoring:service", args=["api"])).content.decode()
    assert 'data-testid="probe-now"' not in viewer_page and "/edit/" not in viewer_page
    assert 'data-testid="probe-now"' in editor_page and "/edit/" in editor_page
