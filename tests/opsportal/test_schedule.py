"""Default beat entries are written once; an admin's edit or deletion sticks."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from opsportal import schedule
from opsportal.models import ScheduleDefault

pytestmark = pytest.mark.django_db


def test_defaults_written_once_and_admin_changes_stick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "_declared", {})
    schedule.declare(schedule.DefaultEntry("test: every ten", "opsportal.ping", every_seconds=10))
    schedule.declare(schedule.DefaultEntry("test: nightly", "opsportal.ping", crontab="0 2 * * *"))
    assert sorted(schedule.apply_defaults()) == ["test: every ten", "test: nightly"]
    nightly = PeriodicTask.objects.get(name="test: nightly")
    assert nightly.crontab.hour == "2" and nightly.crontab.minute == "0"
    assert PeriodicTask.objects.get(name="test: every ten").interval.every == 10

    nightly.enabled = False
    nightly.save()
    PeriodicTask.objects.filter(name="test: every ten").delete()
    assert schedule.apply_defaults() == []
    assert not PeriodicTask.objects.get(name="test: nightly").enabled
    assert not PeriodicTask.objects.filter(name="test: every ten").exists()
    assert ScheduleDefault.objects.filter(name__startswith="test:").count() == 2


def test_declare_needs_exactly_one_schedule() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        schedule.declare(schedule.DefaultEntry("bad", "opsportal.ping"))


def test_roles_hold_the_matrix() -> None:
    from django.contrib.auth.models import Group

    from opsportal.roles import role_permission_names

    viewer, editor, admin = (role_permission_names(r) for r in ("Viewer", "Editor", "Admin"))
    assert "opsportal.view_console" in viewer and "opsportal.view_audit" not in viewer
    assert viewer < editor < admin
    assert "monitoring.change_service" in editor and "monitoring.change_service" not in viewer
    assert "opsportal.manage_users" in admin and "opsportal.manage_users" not in editor
    assert not any(p.endswith("_apitoken") for p in viewer)
    assert Group.objects.filter(name__in=["Viewer", "Editor", "Admin"]).count() == 3
