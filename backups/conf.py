"""Backups settings: each is read from Django settings first, then the environment.

Tests override them with pytest-django's ``settings`` fixture; deployments set them in the
environment (``BACKUP_PG_DUMP=/usr/lib/postgresql/16/bin/pg_dump``). Malformed numbers are
an ImproperlyConfigured error, as everywhere in the portal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings

from opsportal import conf as env


def _get(name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    if value is not None:
        return value
    if isinstance(default, bool):
        return env.boolean(name, default)
    if isinstance(default, int):
        return env.integer(name, default, minimum=0)
    return env.string(name, default)


def pg_dump() -> str:
    return str(_get("BACKUP_PG_DUMP", "pg_dump"))


def pg_restore() -> str:
    return str(_get("BACKUP_PG_RESTORE", "pg_restore"))


def drill_prefix() -> str:
    """Every scratch database a drill or restore creates starts with this prefix."""
    return str(_get("BACKUP_DRILL_PREFIX", "drill_"))


def zstd_threads() -> int:
    """zstd worker threads; 0 compresses in the calling thread."""
    return int(_get("BACKUP_ZSTD_THREADS", min(os.cpu_count() or 1, 4) if (os.cpu_count() or 1) > 1 else 0))


def zstd_job_size() -> int:
    """Bytes per zstd worker job: smaller jobs hold less memory (2 MiB: ~20 MB for two threads)."""
    return int(_get("BACKUP_ZSTD_JOB_BYTES", 2 << 20))


def chunk_size() -> int:
    return int(_get("BACKUP_CHUNK_BYTES", 1 << 20))


def s3_min_part_size() -> int:
    """Smallest multipart part (S3 requires 5 MiB for every part but the last)."""
    return int(_get("BACKUP_S3_MIN_PART_BYTES", 8 << 20))


def s3_max_attempts() -> int:
    return int(_get("BACKUP_S3_MAX_ATTEMPTS", 4))


def stale_minutes() -> int:
    """A running job whose heartbeat is older than this is reaped as failed.

    Running jobs beat every ``BACKUP_HEARTBEAT_SECONDS`` from a background thread, so 2 minutes
    is two dozen missed beats; with the reaper every minute a dead worker's job fails within 3.
    """
    return int(_get("BACKUP_STALE_MINUTES", 2))


def queued_minutes() -> int:
    """A queued run no worker picked up within this many minutes is failed."""
    return int(_get("BACKUP_QUEUED_MINUTES", 120))


def failed_keep_days() -> int:
    """Failed runs stay in the catalog this long, then pruning removes their rows."""
    return int(_get("BACKUP_FAILED_KEEP_DAYS", 30))


def heartbeat_seconds() -> float:
    return float(_get("BACKUP_HEARTBEAT_SECONDS", 5))


def scratch_dir() -> Path:
    """Where SQLite copies and media trees are restored for drills and verification."""
    path = Path(str(_get("BACKUP_SCRATCH_DIR", str(Path(settings.DATA_DIR) / "backup-scratch"))))
    path.mkdir(parents=True, exist_ok=True)
    return path


def validate() -> None:
    """Read every numeric setting once at start-up, so a malformed value stops the process
    (ImproperlyConfigured naming the variable) instead of failing the first backup."""
    for reader in (
        zstd_threads,
        zstd_job_size,
        chunk_size,
        s3_min_part_size,
        s3_max_attempts,
        stale_minutes,
        queued_minutes,
        failed_keep_days,
    ):
        reader()
    heartbeat = _get("BACKUP_HEARTBEAT_SECONDS", 5)
    try:
        float(heartbeat)
    except (TypeError, ValueError):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"BACKUP_HEARTBEAT_SECONDS: expected a number, got {heartbeat!r}") from None
