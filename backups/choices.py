"""Choice sets shared by backups models, forms, templates and commands."""

from __future__ import annotations

from django.db import models


class SourceKind(models.TextChoices):
    POSTGRES = "postgres", "PostgreSQL database"
    SQLITE = "sqlite", "SQLite database"
    MEDIA = "media", "Media directory"


class DestinationKind(models.TextChoices):
    LOCAL = "local", "Local directory"
    S3 = "s3", "S3 (or S3-compatible) bucket"


class ServerSideEncryption(models.TextChoices):
    NONE = "", "None"
    AES256 = "AES256", "SSE-S3 (AES256)"
    KMS = "aws:kms", "SSE-KMS"


class Compression(models.TextChoices):
    ZSTD = "zstd", "zstd"
    GZIP = "gzip", "gzip"
    NONE = "none", "none (an adopted uncompressed dump)"


POLICY_COMPRESSIONS = (Compression.ZSTD, Compression.GZIP)


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    VERIFYING = "verifying", "Verifying"
    GOOD = "good", "Good (verified)"
    FAILED = "failed", "Failed"
    PRUNED = "pruned", "Pruned by retention"


ACTIVE_RUN_STATES = (RunState.QUEUED, RunState.RUNNING, RunState.VERIFYING)


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Console"
    COMMAND = "command", "Command line"


class DumpFormat(models.TextChoices):
    """What is inside a PostgreSQL artifact (the manifest's ``format``)."""

    CUSTOM = "pg_dump custom", "pg_dump custom format (pg_restore)"
    PLAIN = "plain SQL", "plain SQL (psql)"


class DrillKind(models.TextChoices):
    DRILL = "drill", "Restore drill (scratch database dropped afterwards)"
    RESTORE = "restore", "Restore into a named scratch database (kept)"


class DrillState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


ACTIVE_DRILL_STATES = (DrillState.QUEUED, DrillState.RUNNING)


class KeepReason(models.TextChoices):
    DAILY = "daily", "daily"
    WEEKLY = "weekly", "weekly"
    MONTHLY = "monthly", "monthly"
    OLDEST = "oldest", "oldest"
    NEWEST = "newest", "newest good backup (never pruned)"


class RestoreMode(models.TextChoices):
    NEW_DATABASE = "new", "PostgreSQL: into a new database (created, then checked)"
    REPLACE = "replace", "PostgreSQL: replace an existing database named by an environment variable"
    PATH = "path", "SQLite or media: into a path (an existing target is moved aside)"


class RestoreState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Restored, checks passed"
    FAILED = "failed", "Failed"


ACTIVE_RESTORE_STATES = (RestoreState.QUEUED, RestoreState.RUNNING)
