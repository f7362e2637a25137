"""Newcomer papercuts: a same-filesystem warning, and the portal's own database drilled monthly by default."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from backups import runner
from backups.choices import RunState, Trigger
from backups.dispatch import drill_all
from backups.models import Destination, Policy, Source
from opsportal.schedule import declared
from tests.backups import helpers
from tests.backups.test_sqlite_media import make_sqlite

pytestmark = pytest.mark.django_db

WARNING = "this protects against mistakes, not against losing the disk"


def test_a_destination_on_the_sources_filesystem_is_warned_about(tmp_path: Path, client_for: Any) -> None:
    db = tmp_path / "app.sqlite3"
    make_sqlite(db)
    source = Source.objects.create(name="App", slug="app", kind="sqlite", path=str(db))
    near = Destination.objects.create(name="Same disk", slug="near", kind="local", path=str(tmp_path / "backups"))
    same = Policy.objects.create(name="Same", slug="same", source=source, destination=near)
    assert same.same_filesystem()
    client = client_for("viewer")
    page = client.get(same.get_absolute_url()).content.decode()
    assert WARNING in page and 'data-testid="same-disk"' in page
    assert 'data-testid="same-disk-same"' in client.get(reverse("backups:setup")).content.decode()

    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem here")
    far_dir = other / f"bak-far-{os.getpid()}"
    far = Destination.objects.create(name="Other disk", slug="far", kind="local", path=str(far_dir))
    safe = Policy.objects.create(name="Safe", slug="safe", source=source, destination=far)
    assert not safe.same_filesystem()  # the folder does not exist yet: its nearest parent decides
    assert WARNING not in client.get(safe.get_absolute_url()).content.decode()
    setup = client.get(reverse("backups:setup")).content.decode()
    assert 'data-testid="same-disk-same"' in setup and 'data-testid="same-disk-safe"' not in setup


def test_the_portals_own_database_gets_a_monthly_drill_by_default(
    monkeypatch: pytest.MonkeyPatch, settings: Any, client_for: Any
) -> None:
    monkeypatch.setenv("DATABASE_URL", helpers.db_url(settings.DATABASES["default"]["NAME"]))
    call_command("seed_backups", stdout=io.StringIO())
    policy = Policy.objects.get(slug="ops-portal")
    assert policy.enabled and policy.source.is_portal_database
    entry = next(e for e in declared() if e.task == "backups.drill_all")
    assert entry.crontab == "0 5 1 * *"  # the 1st of every month
    assert runner.run_now(policy, trigger=Trigger.COMMAND).state == RunState.GOOD
    sent: list[Any] = []
    outcome = drill_all(send=sent.append)
    assert outcome["ops-portal"].startswith("queued drill") and [d.policy.slug for d in sent] == ["ops-portal"]
    assert "monthly (beat entry" in client_for("viewer").get(policy.get_absolute_url()).content.decode()
