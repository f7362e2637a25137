"""Restore drills and restores: refusals, checks that fail, migrate --check on the portal's own database."""

from __future__ import annotations

import os
from typing import Any

import pytest

from backups import runner
from backups.choices import DrillKind, Trigger
from backups.drills import DrillRefused, check_target_name, drill_now, queue_drill
from backups.engines import engine_for
from backups.models import BackupRun, Source
from tests.backups import helpers
from tests.backups.conftest import open_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def good_run(pg_policy: Any) -> BackupRun:
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == "good", run.error
    return run


def test_target_names_that_are_refused(pg_policy: Any, pg_source_env: str, settings: Any) -> None:
    engine = engine_for(pg_policy.source)
    refusals = {
        "shop_copy": "must start with the drill prefix",
        "Drill_t_UPPER": "lower-case",
        helpers.PREFIX: "must start with the drill prefix",
        pg_source_env: "the source's own database",  # the source's name carries the prefix here, still refused
    }
    for name, reason in refusals.items():
        with pytest.raises(DrillRefused, match=reason):
            check_target_name(pg_policy, name, engine)
    existing = f"{helpers.PREFIX}exists_{os.getpid()}"
    with helpers.admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{existing}"')
    try:
        with pytest.raises(DrillRefused, match="already exists"):
            check_target_name(pg_policy, existing, engine)
    finally:
        helpers.drop_database(existing)
    # The portal's own (production) database is refused even when the prefix would allow it.
    settings.BACKUP_DRILL_PREFIX = "test_"
    with pytest.raises(DrillRefused, match="production database"):
        check_target_name(pg_policy, settings.DATABASES["default"]["NAME"], engine)


def test_a_drill_never_touches_an_existing_database(good_run: BackupRun, pg_policy: Any) -> None:
    name = f"{helpers.PREFIX}taken_{good_run.pk}"
    with helpers.admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        drill = drill_now(pg_policy, trigger=Trigger.MANUAL, target=name)
        assert drill.state == "failed" and "already exists" in drill.error
        assert [s["name"] for s in drill.steps] == ["choose", "target"]
        assert helpers.database_exists(name)  # not dropped: it was never ours
        assert open_alert(f"backup:drill:{pg_policy.slug}") is not None
    finally:
        helpers.drop_database(name)


def test_failing_smoke_test_fails_the_drill_and_the_next_pass_resolves_it(good_run: BackupRun, pg_policy: Any) -> None:
    pg_policy.smoke_sql = (
        "SELECT count(*) > 100 FROM customers\nSELECT count(*) FROM orders WHERE total < 0\nSELECT nope FROM missing"
    )
    pg_policy.save()
    drill = drill_now(pg_policy, trigger=Trigger.SCHEDULE)
    assert drill.state == "failed" and "smoke test failed" in drill.error
    assert [r["ok"] for r in drill.smoke] == [True, False, False]
    assert drill.smoke[1]["value"] == "0" and drill.smoke[2]["value"].startswith("error:")
    assert drill.target_dropped and not helpers.database_exists(drill.target_name)
    alert = open_alert(f"backup:drill:{pg_policy.slug}")
    assert alert is not None and alert.runbook == "Disaster Recovery Test"

    pg_policy.smoke_sql = "SELECT count(*) FROM customers"
    pg_policy.save()
    assert drill_now(pg_policy, trigger=Trigger.SCHEDULE).state == "passed"
    assert open_alert(f"backup:drill:{pg_policy.slug}") is None


def test_row_count_mismatch_is_reported_table_by_table(good_run: BackupRun, pg_policy: Any) -> None:
    manifest = dict(good_run.manifest)
    manifest["tables"] = dict(manifest["tables"], **{"public.orders": 1499})
    BackupRun.objects.filter(pk=good_run.pk).update(manifest=manifest)
    drill = drill_now(pg_policy, trigger=Trigger.SCHEDULE)
    assert drill.state == "failed" and "public.orders 1499→1500" in drill.error
    bad = [t for t in drill.tables if not t["ok"]]
    assert bad == [{"table": "public.orders", "expected": 1499, "actual": 1500, "ok": False}]
    assert drill.target_dropped


def test_restore_into_a_named_target_keeps_it(good_run: BackupRun, pg_policy: Any, users: dict[str, Any]) -> None:
    name = f"{helpers.PREFIX}restore_{good_run.pk}"
    try:
        drill = drill_now(
            pg_policy, trigger=Trigger.MANUAL, user=users["admin"], kind=DrillKind.RESTORE, target=name, run=good_run
        )
        assert drill.state == "passed", drill.error
        assert helpers.database_exists(name) and not drill.target_dropped
        assert helpers.table_counts(name) == good_run.manifest["tables"]
        assert open_alert(f"backup:drill:{pg_policy.slug}") is None  # restores by hand do not alert
    finally:
        helpers.drop_database(name)
    with pytest.raises(DrillRefused, match="drill prefix"):
        queue_drill(pg_policy, kind=DrillKind.RESTORE, trigger=Trigger.MANUAL, target="production", run=good_run)


def test_portal_database_drill_runs_migrate_check(
    make_policy: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # The source is the portal's own (test) database; its restored copy must have no unapplied migrations.
    own = settings.DATABASES["default"]["NAME"]
    monkeypatch.setenv("BAK_T_PORTAL_URL", helpers.db_url(own))
    source = Source.objects.create(
        name="Portal", slug="portal", kind="postgres", url_env="BAK_T_PORTAL_URL", is_portal_database=True
    )
    policy = make_policy(source=source)
    run = runner.run_now(policy, trigger=Trigger.COMMAND)
    assert run.state == "good", run.error
    assert "public.backups_policy" in run.manifest["tables"]
    drill = drill_now(policy, trigger=Trigger.COMMAND)
    assert drill.state == "passed", drill.error
    step = next(s for s in drill.steps if s["name"] == "migrate")
    assert step["ok"] and step["detail"] == "no unapplied migrations"


def test_a_run_and_a_drill_are_audited_once_not_per_progress_update(good_run: BackupRun, pg_policy: Any) -> None:
    from opsportal.models import AuditRecord

    drill = drill_now(pg_policy, trigger=Trigger.SCHEDULE)
    assert drill.state == "passed" and len(drill.steps) > 3 and good_run.log.count("\n") > 5
    for obj, label in ((good_run, "backups.backuprun"), (drill, "backups.restoredrill")):
        actions = list(
            AuditRecord.objects.filter(object_type=label, object_id=str(obj.pk)).values_list("action", flat=True)
        )
        assert actions == ["create"], (label, actions)
