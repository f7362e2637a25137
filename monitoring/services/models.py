"""Services the portal probes, their tags and state changes (flips), check history (raw results and
minute/hour/day rollups, and the rollups' high-water mark), and the deployment events reported by CI."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from monitoring.services.choices import (
    CheckType,
    DeploymentStatus,
    HeartbeatSchedule,
    PingKind,
    Resolution,
    ServiceKind,
    ServiceStatus,
)
from monitoring.services.histogram import Histogram
from monitoring.services.parents import cycle_message, find_cycle
from monitoring.services.slots import EPOCH, first_due, unscheduled
from monitoring.services.validators import (
    validate_env_name,
    validate_headers,
    validate_probe_host,
    validate_probe_url,
    validate_secret_headers,
    validate_status_codes,
)


class Tag(models.Model):
    """A free label on services (team, tier, region) used by filters, silences and channels."""

    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """Something the portal checks on a schedule: an API, a frontend, an agent, a database...

    Configuration (what and how to check) and current state (status, counters, next due time)
    live on the same row; each status change also writes a ServiceFlip.
    """

    # Identity
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ServiceKind.choices, default=ServiceKind.API)
    environment = models.CharField(max_length=40, default="production", blank=True)
    description = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="services")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="While the parent is down, this service's alerts are held.",
    )
    enabled = models.BooleanField(default=True, help_text="Disabled services are paused: not probed, not alerted.")

    # Schedule
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(86400)]
    )
    timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(0.5), MaxValueValidator(120)])
    fail_threshold = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Consecutive failures before the service is DOWN.",
    )
    recover_threshold = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Consecutive successes before a DOWN service is UP again.",
    )

    # How to check
    check_type = models.CharField(max_length=10, choices=CheckType.choices, default=CheckType.HTTP)
    url = models.CharField(max_length=2000, blank=True, validators=[validate_probe_url])
    method = models.CharField(max_length=8, default="GET", choices=[(m, m) for m in ("GET", "HEAD", "POST")])
    headers = models.JSONField(default=dict, blank=True, validators=[validate_headers])
    secret_headers = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_secret_headers],
        help_text='{"Authorization": "API_HEALTH_TOKEN"}: the value is read from that environment variable, never stored.',
    )
    accepted_statuses = models.CharField(max_length=100, default="200-299", validators=[validate_status_codes])
    expect_json_path = models.CharField(
        max_length=200, blank=True, help_text="Dotted path, e.g. status or checks.db.ok"
    )
    expect_json_value = models.CharField(
        max_length=200, blank=True, help_text="Expected value at that path, e.g. healthy"
    )
    expect_text = models.CharField(max_length=200, blank=True, help_text="Text the body must contain")
    degraded_latency_ms = models.PositiveIntegerField(
        default=2000, help_text="Slower than this counts as degraded (the runbook's 'slow' is 2 s)."
    )
    body_limit_bytes = models.PositiveIntegerField(
        default=1_048_576, validators=[MinValueValidator(1024), MaxValueValidator(50 * 1_048_576)]
    )
    max_redirects = models.PositiveSmallIntegerField(default=5, validators=[MaxValueValidator(20)])
    verify_tls = models.BooleanField(default=True)
    cert_warn_days = models.PositiveSmallIntegerField(default=14)
    cert_alert_days = models.PositiveSmallIntegerField(default=7)
    host = models.CharField(max_length=255, blank=True, help_text="TCP checks: host name or address")
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    dsn_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_env_name],
        help_text="PostgreSQL checks: environment variable holding the connection URL.",
    )
    # Heartbeat (push) checks: the job pings /ping/<ping_key>; late (no ping by the deadline) is down.
    ping_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    heartbeat_schedule = models.CharField(
        max_length=10, choices=HeartbeatSchedule.choices, default=HeartbeatSchedule.PERIOD
    )
    heartbeat_period_seconds = models.PositiveIntegerField(
        default=86400,
        validators=[MinValueValidator(60), MaxValueValidator(90 * 86400)],
        help_text="Heartbeat checks: a ping is expected this often (86400 = daily).",
    )
    heartbeat_cron = models.CharField(
        max_length=100, blank=True, help_text="Heartbeat checks: cron expression of the job, e.g. 0 2 * * *"
    )
    heartbeat_timezone = models.CharField(
        max_length=64, blank=True, help_text="Time zone of the cron expression (empty: the portal's TIME_ZONE)."
    )
    heartbeat_grace_seconds = models.PositiveIntegerField(
        default=3600,
        validators=[MinValueValidator(60), MaxValueValidator(7 * 86400)],
        help_text="Heartbeat checks: how late a ping may be before the check is down.",
    )
    last_ping_at = models.DateTimeField(null=True, blank=True)
    last_start_at = models.DateTimeField(null=True, blank=True)
    # The ping rate limit (PING_RATE_LIMIT a minute): the current minute (Unix time // 60) and the
    # pings counted in it. On the row, so every web process shares it, and written with the ping
    # in one guarded update: every accepted ping moves the pair, so it is also the ping's
    # compare-and-set version (monitoring.services.ping_store).
    ping_window = models.BigIntegerField(default=0, editable=False)
    ping_window_count = models.PositiveIntegerField(default=0, editable=False)

    # Current state
    status = models.CharField(max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.UNKNOWN)
    status_since = models.DateTimeField(default=timezone.now)
    status_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    # Runs of passed-but-slow and passed-and-fast results: UP <-> DEGRADED uses the same
    # thresholds as DOWN, so a latency hovering around the limit does not flap.
    consecutive_slow = models.PositiveIntegerField(default=0)
    consecutive_fast = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    cert_expires_at = models.DateTimeField(null=True, blank=True)
    # Replaced on the first save by the service's first slot (monitoring.services.slots): spread, not all now.
    next_due_at = models.DateTimeField(default=unscheduled, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What probes, pings and the dispatcher write (never a person): read-only in the admin,
    # left out of the audit trail, compared field by field where two write paths must agree.
    STATE_FIELDS = (
        "status",
        "status_since",
        "status_reason",
        "consecutive_failures",
        "consecutive_successes",
        "consecutive_slow",
        "consecutive_fast",
        "last_checked_at",
        "last_ok",
        "last_latency_ms",
        "last_status_code",
        "last_error",
        "cert_expires_at",
        "next_due_at",
        "last_ping_at",
        "last_start_at",
    )
    CLAIM_FIELDS = ("claimed_until", "claim_token")
    RATE_FIELDS = ("ping_window", "ping_window_count")

    class Meta:
        ordering = ["name"]
        permissions = [("run_probe", "Can probe a service now")]
        # A plain index (db_index=True on a CharField also builds a second, LIKE-pattern index
        # on PostgreSQL that no query uses and every state write must maintain).
        indexes = [models.Index(fields=["status"], name="mon_service_status")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if self.check_type == CheckType.HEARTBEAT and (
            update_fields is None or any(f.startswith("heartbeat_") or f == "check_type" for f in update_fields)
        ):
            # The deadline follows the schedule as saved: from the last ping, or from now for a
            # new check (a new check is not down before its first ping was due).
            from monitoring.services.heartbeat_schedule import deadline_after

            self.next_due_at = deadline_after(self, self.last_ping_at or timezone.now())
            if update_fields is not None:
                kwargs["update_fields"] = [*update_fields, "next_due_at"]
        elif self._state.adding and self.next_due_at == EPOCH:
            self.next_due_at = first_due(self, timezone.now())
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if self.check_type == CheckType.HTTP and not self.url:
            errors["url"] = "An HTTP check needs a URL."
        if self.check_type == CheckType.TCP and (not self.host or not self.port):
            errors["host"] = "A TCP check needs a host and a port."
        elif self.check_type == CheckType.TCP:
            try:
                validate_probe_host(self.host, self.port or 0)
            except ValidationError as exc:
                errors["host"] = exc.messages[0]
        if self.check_type == CheckType.POSTGRES and not self.dsn_env:
            errors["dsn_env"] = "A PostgreSQL check needs the environment variable that holds its connection URL."
        if self.check_type == CheckType.HEARTBEAT:
            from monitoring.services.heartbeat_schedule import schedule_errors

            errors.update(schedule_errors(self))
        if self.expect_json_value and not self.expect_json_path:
            errors["expect_json_path"] = "Give the dotted path whose value is expected."
        if (
            self.check_type != CheckType.HEARTBEAT
            and self.timeout_seconds
            and self.interval_seconds
            and self.timeout_seconds >= self.interval_seconds
        ):
            errors["timeout_seconds"] = "The timeout must be shorter than the interval."
        if self.parent_id and self.parent_id == self.pk:
            errors["parent"] = "A service cannot be its own parent."
        elif self.parent_id and self.pk:
            cycle = self.parent_cycle()
            if cycle:
                errors["parent"] = cycle_message(cycle)
        if self.cert_alert_days > self.cert_warn_days:
            errors["cert_alert_days"] = "Alert days must not exceed warn days."
        if errors:
            raise ValidationError(errors)

    def parent_cycle(self) -> list[str]:
        """Names along the cycle the chosen parent would close (empty when there is none)."""
        rows = Service.objects.exclude(pk=self.pk).values_list("pk", "parent_id", "name")
        parents = {pk: parent for pk, parent, _ in rows}
        names = {pk: name for pk, _, name in rows}
        parents[self.pk], names[self.pk] = self.parent_id, self.name
        cycle = find_cycle(self.pk, parents)
        return [names.get(pk, "?") for pk in cycle] if cycle else []

    @property
    def ping_path(self) -> str:
        return f"/ping/{self.ping_key}"

    @property
    def effective_status(self) -> str:
        return ServiceStatus.PAUSED if not self.enabled else self.status


class ServiceFlip(models.Model):
    """One change of a service's status, with its reason; alerts are raised from these rows."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="flips")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    old_status = models.CharField(max_length=10, choices=ServiceStatus.choices)
    new_status = models.CharField(max_length=10, choices=ServiceStatus.choices)
    reason = models.CharField(max_length=300, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["service", "-at"])]

    def __str__(self) -> str:
        return f"{self.service} {self.old_status} → {self.new_status}"


class CheckResult(models.Model):
    """One probe of one service: when, whether it passed, how long it took and why it failed."""

    # No index of its own: (service, -at) below serves the foreign key too.
    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="results", db_index=False)
    at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    degraded = models.BooleanField(default=False, help_text="Passed, but slower than the service's degraded latency.")
    latency_ms = models.FloatField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["service", "-at"], name="mon_result_service_at")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'failed'}"

    @property
    def outcome(self) -> str:
        if not self.ok:
            return "down"
        return "degraded" if self.degraded else "up"


class HeartbeatPing(models.Model):
    """One ping of a heartbeat check: a run started, succeeded or failed (with its exit status).

    Successes and failures also write a CheckResult (latency = the run's duration when a start
    ping came first), so heartbeats have the same uptime and p95 history as probed services.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="pings", db_index=False)
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=8, choices=PingKind.choices)
    exit_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True, help_text="Since the start ping of this run, if any.")
    method = models.CharField(max_length=8, blank=True)
    remote_addr = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text="The first 10 KB of a POSTed body (a job's log tail).")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["service", "-at"], name="mon_ping_service_at")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"


RESOLUTION_STEP = {
    Resolution.MINUTE: dt.timedelta(minutes=1),
    Resolution.HOUR: dt.timedelta(hours=1),
    Resolution.DAY: dt.timedelta(days=1),
}


class CheckRollup(models.Model):
    """The results of one service in one minute, hour or day: counts and a latency histogram.

    ``histogram`` is the sparse form of monitoring.services.histogram.Histogram over the latencies of
    passed probes; rows of any resolution merge by adding histograms. p50/p95/p99 of the row
    itself are stored too, so sparklines read three floats instead of a histogram.
    """

    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="rollups")
    resolution = models.CharField(max_length=6, choices=Resolution.choices)
    start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0.0)
    latency_max = models.FloatField(null=True, blank=True)
    histogram = models.JSONField(default=dict, blank=True)
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["service", "resolution", "start"]
        constraints = [
            models.UniqueConstraint(fields=["service", "resolution", "start"], name="mon_rollup_one_per_bucket")
        ]
        indexes = [
            models.Index(fields=["resolution", "start"], name="mon_rollup_resolution_start"),
            # The dashboard reads 24 hourly rows of every service: with all its columns in a
            # partial index, that is an index-only scan (and a cheap plan) even next to
            # millions of minute rows.
            models.Index(
                fields=["start", "service", "count", "failures", "p95_ms"],
                condition=models.Q(resolution="hour"),
                name="mon_rollup_hour_board",
            ),
            # The dashboard's listed rows read 24 hourly rows of a few hundred services: service
            # first, so that is an index-only lookup per service, not a scan of every service's day.
            models.Index(
                fields=["service", "start"],
                include=["count", "failures", "p95_ms"],
                condition=models.Q(resolution="hour"),
                name="mon_rollup_hour_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.resolution} {self.start:%Y-%m-%d %H:%M}"

    def hist(self) -> Histogram:
        return Histogram.from_json(self.histogram, self.latency_max)

    @property
    def uptime(self) -> float | None:
        return None if not self.count else (self.count - self.failures) / self.count


class Watermark(models.Model):
    """How far a background job has read an append-only table: ``rollups.rollup()`` keeps here the
    highest CheckResult id it has counted (NULL until its first run), so each run reads only newer rows."""

    name = models.CharField(max_length=50, unique=True)
    last_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"


class Deployment(models.Model):
    """One deployment of a version of a service, as reported by the deploying system."""

    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="deployments")
    version = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=DeploymentStatus.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.service} {self.version} {self.status}"
