"""Declared settings: one mechanism, documented where it is read, strict about bad values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from opsportal import conf, conf_reference

ROOT = Path(__file__).resolve().parents[2]
APPS = ("opsportal", "monitoring", "backups", "maintenance")
REGENERATE = "run `python manage.py settings_reference --write`"


def test_env_example_is_generated_from_the_declarations() -> None:
    assert (ROOT / ".env.example").read_text() == conf_reference.env_example(), REGENERATE


def test_readme_settings_table_is_generated_from_the_declarations() -> None:
    readme = (ROOT / "README.md").read_text()
    assert conf_reference.readme_with_table(readme) == readme, REGENERATE


def test_every_setting_says_what_it_means_in_one_line() -> None:
    declared = conf_reference.by_part()
    names = [item.name for items in declared.values() for item in items]
    assert {"DEBUG", "PROBE_CONCURRENCY", "NOTIFY_BATCH", "API_MAX_BATCH", "BACKUP_PG_DUMP"} <= set(names)
    for items in declared.values():
        for item in items:
            assert item.meaning and "\n" not in item.meaning, f"{item.name}: one line of meaning"
            assert re.fullmatch(r"[A-Z][A-Z0-9_]+", item.name), item.name


def _sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.name not in ("conf.py", "settings.py")
    ]


def test_settings_are_read_only_through_declarations() -> None:
    """No bare getattr(settings, ...) with a default and no reader call outside settings.py: a
    default written at a call site would drift from the declaration."""
    bare = re.compile(r"getattr\(\s*settings\s*,|conf\.(raw|string|boolean|integer|number|string_list|url)\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert offenders == []


def test_django_setting_overrides_the_environment(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitoring.alerts import conf as alerts_conf

    monkeypatch.setenv("NOTIFY_BATCH", "7")
    assert alerts_conf.NOTIFY_BATCH.get() == 7
    settings.NOTIFY_BATCH = 3
    assert alerts_conf.NOTIFY_BATCH.get() == 3
    settings.NOTIFY_BATCH = None  # None: fall back to the environment, then the default
    monkeypatch.delenv("NOTIFY_BATCH")
    assert alerts_conf.NOTIFY_BATCH.get() == 500


def test_a_django_setting_override_is_checked_too(settings) -> None:
    from monitoring.alerts import conf as alerts_conf

    settings.NOTIFY_MAX_ATTEMPTS = 0
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_MAX_ATTEMPTS: must be at least 1"):
        alerts_conf.NOTIFY_MAX_ATTEMPTS.get()
    settings.NOTIFY_MAX_ATTEMPTS = "3"
    assert alerts_conf.NOTIFY_MAX_ATTEMPTS.get() == 3


def test_value_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backups import conf as backups_conf

    (tmp_path / "dump").write_text("/opt/pg/bin/pg_dump\n")
    monkeypatch.setenv("BACKUP_PG_DUMP_FILE", str(tmp_path / "dump"))
    assert backups_conf.BACKUP_PG_DUMP.get() == "/opt/pg/bin/pg_dump"


def test_declaring_one_name_in_two_places_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_BATCH: declared twice"):
        conf.Int("NOTIFY_BATCH", 1, "again")


def test_url_errors_never_echo_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = conf.DatabaseUrl("TEST_ONLY_DATABASE_URL", "sqlite:///x.sqlite3", "test")
    try:
        monkeypatch.setenv("TEST_ONLY_DATABASE_URL", "postgres://user:pw@host:nope/db")
        with pytest.raises(ImproperlyConfigured) as caught:
            declared.get()
        assert "TEST_ONLY_DATABASE_URL:" in str(caught.value) and "pw" not in str(caught.value)
    finally:
        del conf.DECLARED["TEST_ONLY_DATABASE_URL"]
