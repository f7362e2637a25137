"""A passing restore drill ticks "Full backup test/restore" by itself; a failing one does not.

Real backup and drill of a real PostgreSQL source (the backups fixtures); backups and
maintenance meet only through the ``opsportal.events.restore_drill_passed`` signal.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from backups import runner
from backups.choices import Trigger
from backups.drills import drill_now
from maintenance.models import PeriodItem
from maintenance.periods import open_due_periods
from tests.backups.conftest import (  # noqa: F401 - fixtures
    _backup_settings,
    _no_broker,
    make_policy,
    pg_policy,
    pg_source_env,
    pg_source_name,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def drill_item() -> PeriodItem:
    open_due_periods()
    return PeriodItem.objects.select_related("period").get(
        text="Full backup test/restore", period__checklist__cadence="monthly"
    )


def test_passing_drill_ticks_the_monthly_item(pg_policy: Any, client_for: Any) -> None:  # noqa: F811
    assert drill_item().ticked_at is None
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == "good", run.error
    drill = drill_now(pg_policy, trigger=Trigger.COMMAND)
    assert drill.state == "passed", drill.error
    item = drill_item()
    assert item.is_ticked and item.tick_source == "drill"
    assert item.ticked_by is None and item.ticked_by_name == f"drill #{drill.pk}"
    assert item.evidence["drill_id"] == drill.pk and item.evidence["ok"] is True and item.evidence_fresh
    page = client_for("viewer").get(reverse("maintenance:checklists")).content.decode()
    assert f"ticked by <strong>drill #{drill.pk}</strong>" in page
    # A second passing drill leaves the first one's tick in place.
    second = drill_now(pg_policy, trigger=Trigger.COMMAND)
    assert second.state == "passed"
    assert drill_item().ticked_by_name == f"drill #{drill.pk}"


def test_failing_drill_does_not_tick(pg_policy: Any) -> None:  # noqa: F811
    pg_policy.smoke_sql = "SELECT count(*) > 1000000 FROM customers"
    pg_policy.save()
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == "good", run.error
    drill = drill_now(pg_policy, trigger=Trigger.COMMAND)
    assert drill.state == "failed"
    assert drill_item().ticked_at is None
