"""Core models: the audit log, API tokens, process heartbeats, portal-wide permissions, recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_otp.models import Device


class PortalPermissions(models.Model):
    """Not a table: holds the permissions that belong to the console rather than a model."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_console", "Can sign in to the console and read its pages"),
            ("manage_users", "Can manage users and their roles"),
            ("view_audit", "Can read the audit log"),
            ("ingest_metrics", "Can push metric samples and deployment events through the API"),
        ]


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that refuses bulk updates and deletes."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("audit records are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit records are append-only")


class AuditRecord(models.Model):
    """One change made by someone through the console, the Django admin, the API or a command.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a trigger refuses
    them in the database too. The actor is stored by id and name (no foreign key), so a
    record outlives the user it names.
    """

    class Channel(models.TextChoices):
        CONSOLE = "console", "Console"
        ADMIN = "admin", "Django admin"
        API = "api", "API"
        SYSTEM = "system", "System / command"

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        ACTION = "action", "Action"
        LOGIN = "login", "Signed in"
        LOGOUT = "logout", "Signed out"
        LOGIN_FAILED = "login_failed", "Sign-in failed"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_name = models.CharField(max_length=150, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True, help_text="app_label.model")
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or 'system'} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("audit records are append-only")


TOKEN_PREFIX = "opp_"


class ApiToken(models.Model):
    """A bearer token for the JSON API, owned by a user and scoped to a role no higher than theirs.

    The token itself is shown once at creation; only its SHA-256 is stored (tokens carry 256
    bits of randomness, so a plain hash is enough). ``key_id`` is the public lookup part.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16)
    key_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}{self.key_id}…)"

    @staticmethod
    def _digest(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(cls, user: Any, name: str, role: str, expires_at: Any = None) -> tuple[ApiToken, str]:
        """Create a token and return it with its plain text, which is never stored."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        plain = f"{TOKEN_PREFIX}{key_id}_{secret}"
        token = cls.objects.create(
            user=user, name=name, role=role, key_id=key_id, digest=cls._digest(plain), expires_at=expires_at
        )
        return token, plain

    @classmethod
    def authenticate(cls, plain: str) -> ApiToken | None:
        """Return the live token matching ``plain``, or None."""
        if not plain.startswith(TOKEN_PREFIX) or plain.count("_") < 2:
            return None
        key_id = plain[len(TOKEN_PREFIX) :].split("_", 1)[0]
        token = cls.objects.select_related("user").filter(key_id=key_id).first()
        if token is None or not hmac.compare_digest(token.digest, cls._digest(plain)):
            return None
        if not token.is_active:
            return None
        return token

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None or not self.user.is_active:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    @property
    def display(self) -> str:
        return f"{TOKEN_PREFIX}{self.key_id}_…"


class Heartbeat(models.Model):
    """The last sign of life of one worker or beat process, with its task counters."""

    class Kind(models.TextChoices):
        WORKER = "worker", "Worker"
        BEAT = "beat", "Scheduler (beat)"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    host = models.CharField(max_length=200, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    tasks_succeeded = models.BigIntegerField(default=0)
    tasks_failed = models.BigIntegerField(default=0)
    tasks_retried = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def age_seconds(self, now: Any = None) -> float:
        return ((now or timezone.now()) - self.last_seen).total_seconds()


class ScheduleDefault(models.Model):
    """Marks a default beat entry as written once, so an admin's edit or deletion sticks."""

    name = models.CharField(max_length=200, unique=True)
    applied_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    """One run of a scheduled job (probe sweep, rollup, prune, metric evaluation, ...).

    Written by ``opsportal.jobs.record_job`` around the job's work: a row appears as running
    when the job starts and gets its outcome, duration, figures and any error when it ends, so
    the console shows what the scheduler did and what it is doing. Backups and drills keep
    their own richer rows (BackupRun, RestoreDrill).
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=50, db_index=True)
    trigger = models.CharField(max_length=20, default="schedule", help_text="schedule, console, command")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class JobTally(models.Model):
    """How many times a scheduled job ran in one hour: every run, including the ticks that found
    nothing to do (those leave no JobRun row, or a 5-second tick would write 17,000 rows a day).

    One row per (kind, hour), bumped by ``opsportal.jobs.count_run`` with an upsert, so the Jobs
    page's "runs in 24 h" counts every run of every scheduled job.
    """

    kind = models.CharField(max_length=50)
    hour = models.DateTimeField()
    runs = models.PositiveIntegerField(default=0)
    idle = models.PositiveIntegerField(default=0, help_text="Runs that found nothing to do.")
    failed = models.PositiveIntegerField(default=0)
    total_ms = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "hour"], name="opsportal_one_tally_per_kind_hour")]
        ordering = ["kind", "-hour"]

    def __str__(self) -> str:
        return f"{self.kind} {self.hour:%Y-%m-%d %H}:00 {self.runs} runs"


class SignInEvent(models.Model):
    """One sign-in attempt on the console: a success, a failure or a lockout by django-axes.

    Written from Django's ``user_logged_in`` / ``user_login_failed`` signals and axes'
    ``user_locked_out``, so any login view (with or without a second factor) records the same
    way. ``username`` is what was typed (a failure may name nobody); ``user`` is set when it
    matches an account. Kept ``SIGNIN_RETENTION_DAYS`` for the monthly access review.
    """

    class Kind(models.TextChoices):
        SUCCESS = "success", "Signed in"
        FAILURE = "failure", "Failed"
        LOCKOUT = "lockout", "Locked out"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, db_index=True)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sign_ins"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username or '?'} from {self.ip or '?'}"


class RecoveryCodeDevice(Device):
    """A user's set of single-use recovery codes, a second factor for when the phone is lost.

    The codes are shown once when made; only their SHA-256 digests are stored (each code carries
    about 59 random bits, so a fast hash is enough, as for API tokens). Making new codes replaces the set.
    """

    class Meta:
        verbose_name = "recovery code set"

    def verify_token(self, token: object) -> bool:
        digest = recovery_digest(str(token))
        if not digest:
            return False
        used = self.codes.filter(digest=digest, used_at__isnull=True).update(used_at=timezone.now())
        return used == 1

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    """One recovery code of a set: its digest, and when it was used (a code works once)."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code {self.pk} ({'used' if self.used_at else 'unused'})"


RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


def recovery_digest(code: str) -> str:
    """The stored digest of a recovery code as typed ('' when it cannot be one)."""
    plain = "".join(ch for ch in code.lower() if ch.isalnum())
    if len(plain) != 12 or any(ch not in RECOVERY_ALPHABET for ch in plain):
        return ""
    return hashlib.sha256(f"opsportal-recovery:{plain}".encode()).hexdigest()
