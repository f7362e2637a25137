"""``seed_backups`` (run by make run) creates the portal's own nightly backup policy once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from backups.models import Policy
from opsportal.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_seed_backups_is_idempotent() -> None:
    out = StringIO()
    call_command("seed_backups", stdout=out)
    assert "created" in out.getvalue()
    policy = Policy.objects.get()
    assert policy.source.is_portal_database and policy.destination.kind == "local"
    assert AuditRecord.objects.filter(object_type="backups.policy", action="create", channel="system").exists()
    again = StringIO()
    call_command("seed_backups", stdout=again)
    assert "already exists" in again.getvalue() and Policy.objects.count() == 1
