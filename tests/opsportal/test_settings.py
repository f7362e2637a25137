"""Settings come from the environment; a malformed value stops start-up naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update({"DJANGO_SETTINGS_MODULE": "opsportal.settings", "SECRET_KEY": "x" * 60, "DEBUG": "false"})
    env.update(env_overrides)
    cmd = [sys.executable, "manage.py", *(args or ("check",))]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("HTTPS", "sometimes"),
        ("DATABASE_URL", "mysql://root@localhost/x"),
        ("DATABASE_URL", "postgres://user:pw@host:notaport/db"),
        ("CACHE_URL", "memcached-ish://"),
        ("CELERY_BROKER_URL", "ftp://broker"),
        ("EMAIL_URL", "pigeon://coop"),
        ("AXES_FAILURE_LIMIT", "five"),
        ("AXES_FAILURE_LIMIT", "0"),
        ("SITE_URL", "not a url"),
        ("BACKUP_STALE_MINUTES", "soon"),
        ("BACKUP_HEARTBEAT_SECONDS", "often"),
        ("NOTIFY_MAX_ATTEMPTS", "many"),
        ("NOTIFY_TIMEOUT_SECONDS", "slow"),
        ("RAW_RETENTION_DAYS", "a week"),
        ("PROBE_CONCURRENCY", "0"),
        ("API_MAX_BATCH", "lots"),
        ("PROBE_DENY_NETWORKS", "10.0.0.0/33"),
        ("TWO_FACTOR_REQUIRED", "sometimes"),
        ("DB_CARE_SLOW_MS", "0"),
        ("BACKUP_ZSTD_THREADS", "-1"),
        ("SIGNIN_RETENTION_DAYS", "7"),
        ("DB_CARE_STATEMENT_TIMEOUT_MS", "50"),
    ],
)
def test_malformed_value_names_the_variable(name: str, value: str, tmp_path: Path) -> None:
    result = _start({name: value, "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and f"{name}:" in result.stderr
    assert "pw@" not in result.stderr  # never echo a URL that may hold a password


def test_secret_key_required_without_debug(tmp_path: Path) -> None:
    result = _start({"SECRET_KEY": "", "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "SECRET_KEY: required" in result.stderr


def test_secret_key_file(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("k" * 60)
    ok = _start({"SECRET_KEY": "", "SECRET_KEY_FILE": str(key), "DATA_DIR": str(tmp_path)})
    assert ok.returncode == 0, ok.stderr
    missing = _start({"SECRET_KEY": "", "SECRET_KEY_FILE": str(tmp_path / "nope"), "DATA_DIR": str(tmp_path)})
    assert missing.returncode != 0 and "SECRET_KEY_FILE: cannot read" in missing.stderr


def test_development_generates_secret_key_once(tmp_path: Path) -> None:
    for _ in range(2):
        assert _start({"SECRET_KEY": "", "DEBUG": "true", "DATA_DIR": str(tmp_path)}).returncode == 0
    assert len((tmp_path / "secret_key").read_text()) > 40


def test_deploy_check_is_clean_with_production_values(tmp_path: Path) -> None:
    result = _start(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
            "HTTPS": "true",
            "ALLOWED_HOSTS": "ops.example.com",
            "DATABASE_URL": "postgres://ops@db.internal:5432/opsportal",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "CACHE_URL": "redis://redis.internal:6379/1",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
