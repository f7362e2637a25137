"""Settings of backups, declared once (read them as ``conf.BACKUP_PG_DUMP.get()``; see opsportal.conf).

Credentials never go here: a source names the environment variable that holds its URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from opsportal import conf


def _zstd_threads() -> int:
    cpus = os.cpu_count() or 1
    return min(cpus, 4) if cpus > 1 else 0


def _scratch_default() -> str:
    return str(Path(settings.DATA_DIR) / "backup-scratch")


BACKUP_PG_DUMP = conf.Text("BACKUP_PG_DUMP", "pg_dump", "pg_dump executable (name on PATH or full path).")
BACKUP_PG_RESTORE = conf.Text("BACKUP_PG_RESTORE", "pg_restore", "pg_restore executable (name on PATH or full path).")
BACKUP_DRILL_PREFIX = conf.Text(
    "BACKUP_DRILL_PREFIX", "drill_", "Every scratch database a drill or restore creates starts with this."
)
BACKUP_ZSTD_THREADS = conf.Int(
    "BACKUP_ZSTD_THREADS",
    _zstd_threads,
    "zstd worker threads; 0 compresses in the calling thread.",
    minimum=0,
    shown="CPU count, at most 4",
)
BACKUP_ZSTD_JOB_BYTES = conf.Int(
    "BACKUP_ZSTD_JOB_BYTES", 2 << 20, "Bytes per zstd worker job: smaller jobs hold less memory.", minimum=0
)
BACKUP_CHUNK_BYTES = conf.Int("BACKUP_CHUNK_BYTES", 1 << 20, "Read size of the streaming pipeline.", minimum=1)
BACKUP_S3_MIN_PART_BYTES = conf.Int(
    "BACKUP_S3_MIN_PART_BYTES", 8 << 20, "Smallest S3 multipart part (S3 requires 5 MiB but for the last).", minimum=0
)
BACKUP_S3_MAX_ATTEMPTS = conf.Int("BACKUP_S3_MAX_ATTEMPTS", 4, "Tries of one S3 request.", minimum=1)
# Running jobs beat every BACKUP_HEARTBEAT_SECONDS from a background thread, so 2 minutes is two
# dozen missed beats; with the reaper every minute a dead worker's job fails within 3.
BACKUP_STALE_MINUTES = conf.Int(
    "BACKUP_STALE_MINUTES", 2, "A run, drill or restore without a heartbeat this long is reaped as failed.", minimum=1
)
BACKUP_QUEUED_MINUTES = conf.Int(
    "BACKUP_QUEUED_MINUTES", 120, "A queued run no worker picked up within this many minutes is failed.", minimum=0
)
BACKUP_HEARTBEAT_SECONDS = conf.Seconds(
    "BACKUP_HEARTBEAT_SECONDS",
    5.0,
    "How often a running job writes its heartbeat (and its progress while data streams).",
)
BACKUP_FAILED_KEEP_DAYS = conf.Int(
    "BACKUP_FAILED_KEEP_DAYS", 30, "Failed runs stay in the catalog this long, then pruning removes them.", minimum=0
)
BACKUP_SCRATCH_DIR = conf.Text(
    "BACKUP_SCRATCH_DIR",
    _scratch_default,
    "Where SQLite copies and media trees are restored for verification and drills.",
    shown="DATA_DIR/backup-scratch",
)


def scratch_dir() -> Path:
    """The scratch folder (created on first use)."""
    path = Path(BACKUP_SCRATCH_DIR.get())
    path.mkdir(parents=True, exist_ok=True)
    return path
