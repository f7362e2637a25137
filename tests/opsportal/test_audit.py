"""Every change through the console, the Django admin and the API leaves an append-only audit record."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client
from django.urls import reverse

from opsportal.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_console_change_is_audited_with_before_and_after(client_for: Any, users: dict[str, Any]) -> None:
    viewer = users["viewer"]
    response = client_for("admin").post(
        reverse("user_edit", kwargs={"pk": viewer.pk}),
        {"first_name": "Vera", "last_name": "Viewer", "email": "vera@example.org", "is_active": "on", "role": "Editor"},
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 302
    records = AuditRecord.objects.filter(object_type="auth.user", object_id=str(viewer.pk), channel="console")
    edit = records.filter(action="update", changes__has_key="email").get()
    assert edit.actor_name == "ada-admin" and edit.ip == "192.0.2.7"
    assert edit.changes["email"] == ["vera-viewer@example.com", "vera@example.org"]
    role_change = records.filter(changes__has_key="groups").first()
    assert role_change is not None and "Editor" in role_change.summary


def test_admin_change_is_audited(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["admin"])
    group = Group.objects.create(name="on-call")
    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": "on-call-primary", "permissions": []}
    )
    assert response.status_code == 302, response.content[:500]
    record = AuditRecord.objects.filter(object_type="auth.group", action="update").latest("id")
    assert record.channel == "admin" and record.actor_name == "ada-admin"
    assert record.changes["name"] == ["on-call", "on-call-primary"]


def test_api_change_is_audited(token_for: Any, users: dict[str, Any]) -> None:
    token = token_for("admin")
    url = reverse("api_user_role", kwargs={"pk": users["viewer"].pk})
    response = Client().post(
        url, data=json.dumps({"role": "Editor"}), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200 and response.json()["role"] == "Editor"
    record = AuditRecord.objects.filter(
        object_type="auth.user", object_id=str(users["viewer"].pk), changes__has_key="groups"
    )
    api_records = record.filter(channel="api")
    assert api_records.exists() and {r.actor_name for r in api_records} == {"ada-admin"}


def test_user_create_from_console(client_for: Any) -> None:
    response = client_for("admin").post(
        reverse("user_create"),
        {"username": "newbie", "email": "n@example.com", "role": "Viewer", "password": "a-long-enough-passphrase"},
    )
    assert response.status_code == 302
    created = AuditRecord.objects.get(object_type="auth.user", action="create", object_repr="newbie")
    assert created.channel == "console" and created.changes["password"] == ["(secret changed)", "(secret changed)"]


def test_user_create_rejects_weak_password_and_keeps_input(client_for: Any) -> None:
    response = client_for("admin").post(
        reverse("user_create"), {"username": "newbie", "role": "Viewer", "password": "123"}
    )
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert b'value="newbie"' in response.content


def test_admin_cannot_demote_or_deactivate_self(client_for: Any, users: dict[str, Any]) -> None:
    me = users["admin"]
    response = client_for("admin").post(
        reverse("user_edit", kwargs={"pk": me.pk}), {"email": me.email, "role": "Viewer"}
    )
    assert response.status_code == 200 and b"cannot change your own role" in response.content


def test_records_are_append_only(users: dict[str, Any]) -> None:
    record = AuditRecord.objects.first()
    assert record is not None
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AuditRecord.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditRecord.objects.update(summary="x")
    # The database refuses too, whatever the ORM does.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE opsportal_auditrecord SET summary = 'tampered'")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM opsportal_auditrecord")


def test_audit_is_not_editable_in_django_admin(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["admin"])
    record = AuditRecord.objects.first()
    assert client.get(reverse("admin:opsportal_auditrecord_changelist")).status_code == 200
    assert (
        client.post(reverse("admin:opsportal_auditrecord_delete", args=[record.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:opsportal_auditrecord_add")).status_code == 403


def test_audit_page_filters(client_for: Any, users: dict[str, Any]) -> None:
    client = client_for("admin")
    client.post(reverse("tokens"), {"name": "grafana", "role": "Viewer"})
    page = client.get(reverse("audit"), {"object_type": "apitoken", "action": "create"})
    assert page.status_code == 200
    rows = list(page.context["page"])
    assert rows and all(r.object_type == "opsportal.apitoken" and r.action == "create" for r in rows)
    assert b"grafana" in page.content
    none = client.get(reverse("audit"), {"actor": "nobody-at-all"})
    assert list(none.context["page"]) == []


def test_django_admin_is_for_admins_only(client_for: Any) -> None:
    for role in ("viewer", "editor"):
        response = client_for(role).get(reverse("admin:index"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client_for("admin").get(reverse("admin:index")).status_code == 200
