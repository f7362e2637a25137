"""`manage.py backup run|verify|prune|drill|list`: readable output and a non-zero exit on failure."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from backups.models import BackupRun
from tests.backups import helpers

pytestmark = pytest.mark.django_db


def backup(*args: str) -> str:
    out = io.StringIO()
    call_command("backup", *args, stdout=out, no_color=True)
    return out.getvalue()


def test_run_list_verify_prune_and_drill(pg_policy: Any) -> None:
    out = backup("run", pg_policy.slug)
    run = BackupRun.objects.get(policy=pg_policy)
    assert f"{pg_policy.slug}: run #{run.pk} good:" in out and "Verify: re-read" in out

    listing = backup("list", pg_policy.slug)
    assert pg_policy.slug in listing and f"#{run.pk}" in listing and "daily, weekly, monthly" in listing
    assert "just now" in backup("list") or "min old" in backup("list")

    assert f"run #{run.pk} ok: SHA-256 matches" in backup("verify", pg_policy.slug)

    dry = backup("prune", pg_policy.slug, "--dry-run")
    assert "would keep" in dry and "(dry run: nothing was changed)" in dry

    drill = backup("drill", pg_policy.slug)
    assert "passed" in drill and "Compare row counts with the manifest" in drill


def test_failures_exit_non_zero(pg_policy: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandError, match="name one or more policies"):
        backup("run")
    with pytest.raises(CommandError, match="no such policy: nope"):
        backup("run", "nope")
    settings.BACKUP_PG_DUMP = str(helpers.write_pg_dump_wrapper(tmp_path / "pg_dump", "kill", after_bytes=10_000))
    with pytest.raises(CommandError, match="1 run job failed"):
        backup("run", pg_policy.slug)
    settings.BACKUP_PG_DUMP = None
    with pytest.raises(CommandError, match="1 drill job failed"):
        backup("drill", pg_policy.slug)  # nothing good to restore yet
    with pytest.raises(CommandError, match="--confirm"):
        backup("drill", pg_policy.slug, "--target", "drill_t_x")
    monkeypatch.delenv("BAK_T_SOURCE_URL")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("backup", "run", "--all", stdout=out)
    assert "environment variable BAK_T_SOURCE_URL is not set" in out.getvalue()
