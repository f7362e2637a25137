"""The secrets registry: never stores or shows a secret, the four-step rotation walk, due alerts,
and the portal's own secrets listed by themselves."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from maintenance.models import Rotation, Secret
from maintenance.secrets_registry import RotationError, check_all, start_rotation, sync_inventory, tick_step
from monitoring.models import Alert, NotificationChannel
from opsportal.models import ApiToken, AuditRecord

pytestmark = pytest.mark.django_db

# Real-looking keys of the kinds a team registers (made up; the shapes are the providers').
KEYS = [
    "sk_live_51HqLyjWDarjtT1zdp7dcXkQ9vR2bN8mLpS4tYu6",
    "sk-proj-Q3v8Zp1LmN6rT2yW9xK4bH7jD0fG5sA8cE1uI3oP",
    "ghp_x7Kq2LmP9vR4tY8wZ1bN6cD3fG5hJ0kM2sA4",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-2748126373-4812736281736-Qw8ErT5yUi9OpAs3Df6Gh",
    "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928",
]
FIELDS = ("name", "where_used", "owner", "fingerprint", "notes")


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Stripe API key",
        "where_used": "billing service",
        "owner": "ada",
        "fingerprint": "",
        "last_rotated_at": "2026-11-01T10:00",
        "rotation_days": "90",
        "notes": "",
    }
    data.update(overrides)
    return data


def _assert_nowhere(key: str, *responses: Any) -> None:
    for response in responses:
        body = response.content.decode(errors="replace")
        assert key not in body, f"the key appeared in a response ({response.status_code})"
    for rec in AuditRecord.objects.all():
        assert key not in json.dumps([rec.summary, rec.object_repr, rec.changes])
    for secret in Secret.objects.all():
        assert key not in json.dumps([getattr(secret, f.name) for f in Secret._meta.concrete_fields], default=str)


@pytest.mark.parametrize("key", KEYS)
def test_a_key_in_any_field_of_any_form_is_refused_and_never_shown(client_for: Any, key: str) -> None:
    admin = client_for("admin")
    responses = []
    for field in FIELDS:
        response = admin.post(reverse("maintenance:secret_create"), _form(**{field: key}))
        assert response.status_code == 200, field  # the form again, with the error
        assert b"errorlist" in response.content
        responses.append(response)
    assert not Secret.objects.exists()
    # The edit form and the rotation step form refuse it too.
    secret = Secret.objects.create(name="Stripe API key", where_used="billing")
    for field in FIELDS:
        responses.append(admin.post(reverse("maintenance:secret_edit", args=[secret.pk]), _form(**{field: key})))
    rotation = start_rotation(secret, None)
    for field in ("note", "fingerprint"):
        responses.append(
            admin.post(
                reverse("maintenance:rotation_tick", args=[rotation.pk]), {"step": "generate", field: key}, follow=True
            )
        )
    assert not rotation.steps.filter(done_at__isnull=False).exists()
    # Every page that lists or shows the registry, and the audit log.
    for url in (
        reverse("maintenance:secrets"),
        reverse("maintenance:secret", args=[secret.pk]),
        reverse("maintenance:security"),
        reverse("audit"),
    ):
        responses.append(admin.get(url))
    _assert_nowhere(key, *responses)


def test_a_key_inside_an_uploaded_audit_or_the_api_is_not_echoed(client_for: Any, token_for: Any) -> None:
    key = KEYS[0]
    body = json.dumps({"dependencies": [{"name": "requests", "version": key, "vulns": key}]})
    response = Client().post(
        reverse("maintenance_api:ingest_audits") + "?project=web",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for('editor')}",
    )
    assert response.status_code == 400
    assert "dependencies[0].vulns" in response.json()["error"]
    _assert_nowhere(key, response)


def test_fingerprints_are_last_four_or_a_short_sha256_prefix(client_for: Any) -> None:
    admin = client_for("admin")
    for good in ("x9Qz", "sha256:9f86d081", "SHA256:9F86D081884C7D65"):
        Secret.objects.all().delete()
        response = admin.post(reverse("maintenance:secret_create"), _form(fingerprint=good))
        assert response.status_code == 302, good
    assert Secret.objects.get().fingerprint == "sha256:9f86d081884c7d65"
    for bad in ("abcdef", "sha256:" + "a" * 64, "sha256:xyz12345"):
        response = admin.post(reverse("maintenance:secret_create"), _form(name="other", fingerprint=bad))
        assert response.status_code == 200 and b"errorlist" in response.content, bad
        assert bad.encode() not in response.content  # not even echoed back into the input
    assert Secret.objects.count() == 1


def test_the_rotation_walk_moves_the_date_only_after_all_four_steps(users: dict[str, Any], client_for: Any) -> None:
    admin, editor = users["admin"], users["editor"]
    old = timezone.now() - dt.timedelta(days=100)
    secret = Secret.objects.create(name="OpenAI key", where_used="agents", last_rotated_at=old, fingerprint="aaaa")
    assert secret.due_state() == "overdue"
    client = client_for("admin")
    assert client.post(reverse("maintenance:rotation_start", args=[secret.pk])).status_code == 302
    rotation = Rotation.objects.get(secret=secret)
    assert [s.step for s in rotation.step_rows()] == ["generate", "update", "test", "revoke"]
    assert [s.get_step_display() for s in rotation.step_rows()] == [
        "Generate new key",
        "Update in secrets",
        "Test with new key",
        "Revoke old key",
    ]
    # Out of order is refused.
    with pytest.raises(RotationError, match="Generate new key"):
        tick_step(rotation, "test", admin)
    client.post(
        reverse("maintenance:rotation_tick", args=[rotation.pk]),
        {"step": "generate", "note": "new key in vault", "fingerprint": "bbbb"},
    )
    tick_step(rotation, "update", editor)
    tick_step(rotation, "test", admin, note="200 from /api/health with the new key")
    secret.refresh_from_db()
    assert secret.last_rotated_at == old  # three of four: the date has not moved
    with pytest.raises(RotationError, match="already ticked"):
        tick_step(rotation, "update", admin)
    before = timezone.now()
    client.post(reverse("maintenance:rotation_tick", args=[rotation.pk]), {"step": "revoke"})
    secret.refresh_from_db()
    rotation.refresh_from_db()
    assert rotation.state == "done" and secret.last_rotated_at >= before
    assert secret.fingerprint == "bbbb" and secret.due_state() == "ok"
    steps = rotation.step_rows()
    assert [s.done_by for s in steps] == [admin, editor, admin, admin]
    assert all(s.done_at is not None for s in steps)
    assert steps[0].note == "new key in vault"
    # Each tick is in the audit log with who did it.
    ticks = AuditRecord.objects.filter(object_type="maintenance.rotationstep", action="update")
    assert sorted(r.actor_name for r in ticks) == sorted(["ada-admin", "eddie-editor", "ada-admin", "ada-admin"])
    page = client.get(reverse("maintenance:secret", args=[secret.pk]))
    assert b"Earlier rotations" in page.content and b"eddie-editor" in page.content


def test_due_soon_and_overdue_raise_alerts_and_a_rotation_resolves_them(
    users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    soon = Secret.objects.create(name="Sentry DSN", last_rotated_at=now - dt.timedelta(days=80))
    late = Secret.objects.create(name="DB password", last_rotated_at=now - dt.timedelta(days=95))
    fine = Secret.objects.create(name="Fresh key", last_rotated_at=now - dt.timedelta(days=10))
    states = check_all()
    assert states == {"due_soon": 1, "overdue": 1, "ok": 1}
    alerts = {a.dedup_key: a for a in Alert.objects.all()}
    assert alerts[f"secret-rotation:{soon.pk}"].severity == "warning"
    assert alerts[f"secret-rotation:{late.pk}"].severity == "critical"
    assert alerts[f"secret-rotation:{late.pk}"].runbook == "API Key Rotation"
    assert f"secret-rotation:{fine.pk}" not in alerts
    rotation = start_rotation(late, users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        for step in ("generate", "update", "test", "revoke"):
            tick_step(rotation, step, users["admin"])
    # The last tick re-checked the secret after commit: the alert is resolved.
    assert Alert.objects.get(dedup_key=f"secret-rotation:{late.pk}").state == "resolved"


def test_the_portals_own_secrets_are_listed_by_name_and_age(
    users: dict[str, Any], client_for: Any, monkeypatch: Any
) -> None:
    from backups.models import Source

    token, plain = ApiToken.issue(users["editor"], "ci", "Editor")
    NotificationChannel.objects.create(name="ops slack", kind="apprise", url="slack://T000/B000/XXXXsecretXXXX")
    Source.objects.create(name="Product DB", slug="product-db", kind="postgres", url_env="M2_PRODUCT_DB_URL")
    monkeypatch.setenv("M2_PRODUCT_DB_URL", "postgres://app:first-password@127.0.0.1:5432/app")
    sync_inventory()
    rows = {s.auto_key: s for s in Secret.objects.all()}
    assert rows[f"api-token:{token.pk}"].owner == "eddie-editor"
    assert rows[f"api-token:{token.pk}"].fingerprint == token.display
    channel = next(s for k, s in rows.items() if k.startswith("channel:"))
    assert channel.name == "Channel 'ops slack'"
    variable = rows["variable:M2_PRODUCT_DB_URL"]
    assert "source product-db" in variable.where_used
    first_seen = variable.last_rotated_at
    # The value changes: that is a rotation the portal observes.
    monkeypatch.setenv("M2_PRODUCT_DB_URL", "postgres://app:second-password@127.0.0.1:5432/app")
    sync_inventory()
    variable.refresh_from_db()
    assert variable.last_rotated_at > first_seen
    # A revoked token drops out (retired, kept for history).
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    sync_inventory()
    assert Secret.objects.get(auto_key=f"api-token:{token.pk}").retired_at is not None
    page = client_for("admin").get(reverse("maintenance:secrets"))
    body = page.content.decode()
    assert "M2_PRODUCT_DB_URL" in body and "ops slack" in body
    for secret_text in ("first-password", "second-password", "XXXXsecretXXXX", plain):
        assert secret_text not in body
        assert not AuditRecord.objects.filter(changes__icontains=secret_text).exists()
    os.environ.pop("M2_PRODUCT_DB_URL", None)


def test_tls_certificates_come_from_monitoring_with_their_expiry(db: Any) -> None:
    from tests.monitoring.services.factories import ServiceFactory

    service = ServiceFactory(slug="web", url="https://example.com/")
    service.cert_expires_at = timezone.now() + dt.timedelta(days=10)
    service.save()
    sync_inventory()
    cert = Secret.objects.get(auto_key="certificate:web")
    assert cert.kind == "certificate" and cert.due_state() == "due_soon" and not cert.rotatable
    assert cert.name == "TLS certificate of example.com"


def test_the_registry_page_takes_the_same_queries_for_3_or_30_tokens(users: dict[str, Any], client_for: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for("admin")

    def count() -> int:
        client.get(reverse("maintenance:secrets"))  # the first look lists new rows
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("maintenance:secrets")).status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        ApiToken.issue(users["editor"], f"t{i}", "Viewer")
    few = count()
    for i in range(27):
        ApiToken.issue(users["editor"], f"u{i}", "Viewer")
    assert count() == few


def test_listing_the_portals_secrets_is_audited_as_the_system_not_the_viewer(
    users: dict[str, Any], client_for: Any
) -> None:
    ApiToken.issue(users["editor"], "ci", "Editor")
    client_for("admin").get(reverse("maintenance:secrets"))
    record = AuditRecord.objects.get(object_type="maintenance.secret", action="create")
    assert record.actor_name == "" and record.channel == "system"
