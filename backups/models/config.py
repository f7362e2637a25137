"""What to back up (Source), where to (Destination) and how often and how long (Policy)."""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from pathlib import Path
from typing import Any

from croniter import croniter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ..choices import POLICY_COMPRESSIONS, Compression, DestinationKind, ServerSideEncryption, SourceKind

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def validate_env_name(value: str) -> None:
    if value and not ENV_NAME.match(value):
        raise ValidationError("Use an environment variable name such as BACKUP_DB_URL (capitals, digits, underscores).")


def validate_cron(value: str) -> None:
    parts = value.split()
    if len(parts) != 5 or not croniter.is_valid(value):
        raise ValidationError("Use a five-field cron expression, e.g. '0 2 * * *' (02:00 every day).")


def validate_absolute_path(value: str) -> None:
    if value and not Path(value).is_absolute():
        raise ValidationError("Give an absolute path, e.g. /var/backups/portal.")


def _device(path: Path) -> int | None:
    """``st_dev`` of ``path``, or of its nearest existing parent (a folder not made yet)."""
    for candidate in (path, *path.parents):
        try:
            return os.stat(candidate).st_dev
        except OSError:
            continue
    return None


class MissingCredential(Exception):
    """An environment variable named by a source or destination is not set in this process."""


def read_env(name: str, what: str) -> str:
    """The value of environment variable ``name``; the message names the variable, never a value."""
    value = os.environ.get(name, "")
    if not value:
        raise MissingCredential(f"{what}: environment variable {name} is not set in this process")
    return value


class Source(models.Model):
    """Something the portal backs up: a PostgreSQL database, an SQLite file or a media directory.

    No secret is stored: a PostgreSQL source names the environment variable that holds its
    connection URL; the password reaches pg_dump through PGPASSWORD, never a command line.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=SourceKind.choices, default=SourceKind.POSTGRES)
    url_env = models.CharField(
        "connection URL variable",
        max_length=100,
        blank=True,
        validators=[validate_env_name],
        help_text="PostgreSQL: name of the environment variable holding the URL, e.g. DATABASE_URL.",
    )
    restore_url_env = models.CharField(
        "drill server URL variable",
        max_length=100,
        blank=True,
        validators=[validate_env_name],
        help_text="PostgreSQL: variable with a URL of the server drills restore into (default: the source's server).",
    )
    path = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_absolute_path],
        help_text="SQLite: the database file (empty: the portal's own). Media: the directory.",
    )
    is_portal_database = models.BooleanField(
        "is the portal's own database",
        default=False,
        help_text="Drills then also run 'migrate --check' against the restored copy.",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == SourceKind.POSTGRES and not self.url_env:
            errors["url_env"] = "A PostgreSQL source needs the name of the variable that holds its URL."
        if self.kind == SourceKind.MEDIA and not self.path:
            errors["path"] = "A media source needs the directory to back up."
        if self.kind == SourceKind.SQLITE and not self.path:
            if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
                errors["path"] = "The portal does not run on SQLite here; give the SQLite file to back up."
        if errors:
            raise ValidationError(errors)

    @property
    def env_names(self) -> list[str]:
        return [n for n in (self.url_env, self.restore_url_env) if n]

    def env_status(self) -> dict[str, bool]:
        """Which named variables are set in this process (values are never shown)."""
        return {name: bool(os.environ.get(name)) for name in self.env_names}

    def sqlite_path(self) -> Path:
        if self.path:
            return Path(self.path)
        return Path(str(settings.DATABASES["default"]["NAME"]))


class Destination(models.Model):
    """Where backup artifacts go: a local directory or an S3 bucket (any S3-compatible endpoint).

    S3 keys come from the environment variables it names (or boto3's default chain when
    none are named); nothing secret is stored in the row.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=DestinationKind.choices, default=DestinationKind.LOCAL)
    path = models.CharField(
        max_length=500, blank=True, validators=[validate_absolute_path], help_text="Local: the directory."
    )
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=200, blank=True, help_text="S3: key prefix, e.g. portal/")
    endpoint_url = models.URLField(blank=True, help_text="S3-compatible endpoint; empty for AWS.")
    region = models.CharField(max_length=40, blank=True, default="us-east-1")
    access_key_env = models.CharField("access key variable", max_length=100, blank=True, validators=[validate_env_name])
    secret_key_env = models.CharField("secret key variable", max_length=100, blank=True, validators=[validate_env_name])
    sse = models.CharField(
        "server-side encryption", max_length=10, blank=True, choices=ServerSideEncryption.choices, default=""
    )
    kms_key_id = models.CharField("KMS key id", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == DestinationKind.LOCAL and not self.path:
            errors["path"] = "A local destination needs a directory."
        if self.kind == DestinationKind.S3:
            if not self.bucket:
                errors["bucket"] = "An S3 destination needs a bucket."
            if bool(self.access_key_env) != bool(self.secret_key_env):
                errors["secret_key_env"] = "Name both key variables, or neither (boto3's default chain)."
            if self.kms_key_id and self.sse != ServerSideEncryption.KMS:
                errors["kms_key_id"] = "A KMS key id needs SSE-KMS."
        if errors:
            raise ValidationError(errors)

    @property
    def env_names(self) -> list[str]:
        return [n for n in (self.access_key_env, self.secret_key_env) if n]

    def env_status(self) -> dict[str, bool]:
        return {name: bool(os.environ.get(name)) for name in self.env_names}

    @property
    def where(self) -> str:
        if self.kind == DestinationKind.LOCAL:
            return self.path
        return f"s3://{self.bucket}/{self.prefix}"

    def storage(self) -> Any:
        from ..storage import LocalStorage, S3Storage

        if self.kind == DestinationKind.LOCAL:
            return LocalStorage(root=Path(self.path))
        return S3Storage(
            bucket=self.bucket,
            prefix=self.prefix,
            endpoint_url=self.endpoint_url or None,
            region=self.region or None,
            access_key=read_env(self.access_key_env, f"destination {self.slug}") if self.access_key_env else None,
            secret_key=read_env(self.secret_key_env, f"destination {self.slug}") if self.secret_key_env else None,
            sse=self.sse,
            kms_key_id=self.kms_key_id,
        )


class Policy(models.Model):
    """Backs one source up to one destination on a cron schedule, with compression and GFS retention.

    ``next_due_at`` is this policy's own next due time; the dispatcher claims due policies
    with ``select_for_update(skip_locked=True)`` and moves it on.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="policies")
    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="policies")
    enabled = models.BooleanField(default=True)
    schedule = models.CharField(
        max_length=100,
        default="0 2 * * *",
        validators=[validate_cron],
        help_text="Cron expression in the portal's time zone; the runbook's is 0 2 * * * (02:00 daily).",
    )
    compression = models.CharField(max_length=8, choices=Compression.choices, default=Compression.ZSTD)
    compression_level = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(19)],
        help_text="zstd 1-19 (3 is fast and small); gzip 1-9.",
    )
    keep_daily = models.PositiveSmallIntegerField(default=7, validators=[MaxValueValidator(1000)])
    keep_weekly = models.PositiveSmallIntegerField(default=4, validators=[MaxValueValidator(1000)])
    keep_monthly = models.PositiveSmallIntegerField(default=12, validators=[MaxValueValidator(1000)])
    smoke_sql = models.TextField(
        "smoke-test queries",
        blank=True,
        help_text="One SQL query per line, run read-only on the restored copy during a drill. "
        "A query passes when it returns a row whose first value is true or non-zero.",
    )
    timeout_minutes = models.PositiveIntegerField(
        default=240, validators=[MinValueValidator(1)], help_text="A run still going after this long is failed."
    )
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"
        permissions = [
            ("run_backup", "Can run a backup now and re-verify backups"),
            ("restore_backup", "Can restore a backup into a scratch database"),
            ("run_drill", "Can run a restore drill"),
            ("prune_backups", "Can prune backups by the retention policy"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.next_due_at is None or self._schedule_changed():
            self.next_due_at = self.next_after(timezone.now())
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "next_due_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("backups:policy", args=[self.slug])

    def _schedule_changed(self) -> bool:
        if self.pk is None:
            return False
        old = Policy.objects.filter(pk=self.pk).values_list("schedule", flat=True).first()
        return old is not None and old != self.schedule

    def clean(self) -> None:
        if self.compression not in POLICY_COMPRESSIONS:
            raise ValidationError({"compression": "Backups are compressed with zstd or gzip."})
        if self.compression == Compression.GZIP and self.compression_level > 9:
            raise ValidationError({"compression_level": "gzip levels are 1-9."})

    def smoke_queries(self) -> list[str]:
        return [q.strip().rstrip(";").strip() for q in self.smoke_sql.splitlines() if q.strip().rstrip(";").strip()]

    def next_after(self, after: dt.datetime) -> dt.datetime:
        """The first scheduled time strictly after ``after``, in the portal's time zone."""
        local = after.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
        return croniter(self.schedule, local).get_next(dt.datetime)

    def same_filesystem(self) -> bool:
        """Whether a local destination sits on the source's filesystem (``st_dev``): then a backup
        protects against mistakes, not against losing the disk. PostgreSQL sources are not judged
        (their files are on the database server)."""
        if self.destination.kind != DestinationKind.LOCAL or self.source.kind == SourceKind.POSTGRES:
            return False
        source = self.source.sqlite_path() if self.source.kind == SourceKind.SQLITE else Path(self.source.path)
        return _device(source) is not None and _device(source) == _device(Path(self.destination.path))

    @property
    def extension(self) -> str:
        base = {SourceKind.POSTGRES: "dump", SourceKind.SQLITE: "sqlite3", SourceKind.MEDIA: "tar"}[self.source.kind]
        return f"{base}.{'zst' if self.compression == Compression.ZSTD else 'gz'}"
