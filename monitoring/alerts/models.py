"""Alerts and their timelines.

At most one open (firing or acknowledged) alert exists per dedup key, enforced by a partial
unique constraint. Every transition is a compare-and-set update that also writes an
AlertEvent; notifications are sent from those event rows after commit.

Also notification channels, the notification outbox and its attempts, silences and maintenance windows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from monitoring.alerts.choices import (
    SEVERITY_RANK,
    AlertEventKind,
    AlertState,
    ChannelKind,
    NotificationState,
    Recurrence,
    Severity,
    WindowRecurrence,
)
from monitoring.alerts.recurrence import active_occurrence, occurrences, valid_cron, valid_zone


class Alert(models.Model):
    """Something that needs a person: a service down, a metric past its threshold, a failed backup."""

    dedup_key = models.CharField(
        max_length=200, db_index=True, help_text="e.g. service:api:down, metric:error_rate:api"
    )
    source = models.CharField(max_length=50, help_text="monitoring, metrics, backups, deployments, ...")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.CRITICAL)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    service = models.ForeignKey(
        "monitoring.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    runbook = models.CharField(
        max_length=100, blank=True, help_text="Title of the matching runbook, e.g. 'Service Is Down'."
    )
    state = models.CharField(max_length=14, choices=AlertState.choices, default=AlertState.FIRING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notification_count = models.PositiveIntegerField(default=0)
    # Why notifications for this alert are held right now (silence, maintenance, parent down), as
    # last seen by the notifier; empty when nothing holds it.
    held_reason = models.CharField(max_length=200, blank=True)
    # Set when this alert was opened because the condition still held after ``reopens`` was
    # resolved by hand (Alertmanager: resolution follows the condition, not the button).
    reopens = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reopened_as")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"], condition=~Q(state="resolved"), name="monitoring_one_open_alert_per_key"
            )
        ]
        permissions = [
            ("acknowledge_alert", "Can acknowledge an alert"),
            ("resolve_alert", "Can resolve an alert by hand"),
            ("comment_alert", "Can comment on an alert"),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.state != AlertState.RESOLVED

    def _transition(self, old_states: list[str], kind: str, actor: Any, note: str, **changes: Any) -> bool:
        """Compare-and-set from one of ``old_states``; on success write the event. Returns whether it moved."""
        with transaction.atomic():
            moved = Alert.objects.filter(pk=self.pk, state__in=old_states).update(**changes)
            if moved != 1:
                self.refresh_from_db()
                return False
            AlertEvent.objects.create(alert=self, kind=kind, actor=actor, note=note[:2000])
        self.refresh_from_db()
        return True

    def acknowledge(self, actor: Any, note: str = "") -> bool:
        return self._transition(
            [AlertState.FIRING],
            AlertEventKind.ACKNOWLEDGED,
            actor,
            note,
            state=AlertState.ACKNOWLEDGED,
            acknowledged_at=timezone.now(),
            acknowledged_by=actor,
        )

    def resolve(self, actor: Any = None, note: str = "") -> bool:
        """Resolve by hand (actor given) or automatically (actor None)."""
        return self._transition(
            [AlertState.FIRING, AlertState.ACKNOWLEDGED],
            AlertEventKind.RESOLVED,
            actor,
            note or ("resolved automatically" if actor is None else ""),
            state=AlertState.RESOLVED,
            resolved_at=timezone.now(),
            resolved_by=actor,
        )

    def comment(self, actor: Any, note: str) -> AlertEvent:
        return AlertEvent.objects.create(alert=self, kind=AlertEventKind.COMMENT, actor=actor, note=note[:2000])


class AlertEvent(models.Model):
    """One entry on an alert's timeline. Notifications are sent for fired/acknowledged/resolved events."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=14, choices=AlertEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # Set when the notifier has fanned this event out to channels (claimed with a conditional update).
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What the notifier did with it, in words, for the timeline (sent to 2 channels, held: silenced...).
    dispatch_note = models.CharField(max_length=200, blank=True)
    held = models.BooleanField(
        default=False,
        help_text="The notifier held this event's notifications (silence, maintenance, parent down); "
        "they are sent when the hold ends if the alert is still firing.",
    )
    # Repeat reminders and escalations are addressed to one channel; ``sequence`` numbers the
    # repeats, so each (alert, channel, kind, sequence) exists once however many workers run.
    channel = models.ForeignKey(
        "monitoring.NotificationChannel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "kind", "sequence"],
                condition=Q(channel__isnull=False),
                name="monitoring_one_channel_event_per_sequence",
            )
        ]
        indexes = [
            models.Index(fields=["at"], condition=Q(dispatched_at__isnull=True), name="monitoring_event_undispatched")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class NotificationChannel(models.Model):
    """Where notifications go: one Apprise URL (Slack, Teams, ntfy, webhooks...) or email addresses.

    The Apprise URL is a secret (it carries tokens): it is stored for sending but never shown
    again; pages show ``url_masked``. A channel with ``escalate_after_minutes`` is an escalation
    channel: it hears of an alert only once it has stayed unacknowledged that long.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices, default=ChannelKind.APPRISE)
    url = models.TextField(blank=True, help_text="Apprise URL; never shown again after saving.")
    url_masked = models.CharField(max_length=300, blank=True)
    emails = models.TextField(blank=True, help_text="Comma-separated email addresses.")
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    services = models.ManyToManyField(
        "monitoring.Service", blank=True, related_name="+", help_text="Only alerts of these services (none: all)."
    )
    tags = models.ManyToManyField(
        "monitoring.Tag", blank=True, related_name="+", help_text="Only alerts of services with one of these tags."
    )
    notify_acknowledged = models.BooleanField(default=True, help_text="Also send when someone acknowledges.")
    notify_resolved = models.BooleanField(default=True, help_text="Also send when the alert is resolved.")
    repeat_minutes = models.PositiveIntegerField(
        default=0, help_text="Remind every N minutes while the alert is unacknowledged (0: never)."
    )
    escalate_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Escalation channel: send only once an alert is unacknowledged for this many minutes.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_notificationchannel", "Can send a test notification")]

    def __str__(self) -> str:
        return self.name

    @property
    def target_display(self) -> str:
        """What a page may show of the destination: the masked URL or the addresses."""
        return self.url_masked if self.kind == ChannelKind.APPRISE else self.emails

    @property
    def email_list(self) -> list[str]:
        return [e.strip() for e in self.emails.split(",") if e.strip()]

    @property
    def is_escalation(self) -> bool:
        return self.escalate_after_minutes is not None

    def clean(self) -> None:
        if self.kind == ChannelKind.APPRISE and not self.url:
            raise ValidationError({"url": "An Apprise channel needs a URL."})
        if self.kind == ChannelKind.EMAIL and not self.email_list:
            raise ValidationError({"emails": "An email channel needs at least one address."})

    def accepts(self, alert: Any, service_ids: set[int] | None = None, tag_ids: set[int] | None = None) -> bool:
        """Whether this channel's severity and service/tag filters let ``alert`` through.

        ``service_ids``/``tag_ids`` are this channel's filters, passed in when the caller has
        prefetched them; the alert's service tags come from ``alert.service.tags`` (prefetched).
        """
        if SEVERITY_RANK.get(alert.severity, 0) < SEVERITY_RANK.get(self.min_severity, 0):
            return False
        if service_ids is None:
            service_ids = {s.pk for s in self.services.all()}
        if tag_ids is None:
            tag_ids = {t.pk for t in self.tags.all()}
        if service_ids and alert.service_id not in service_ids:
            return False
        if tag_ids:
            if alert.service is None:
                return False
            if not tag_ids & {t.pk for t in alert.service.tags.all()}:
                return False
        return True


class Notification(models.Model):
    """One alert event to be told to one channel: the outbox row.

    Unique per (event, channel), so fanning an event out twice cannot queue it twice; a worker
    claims a due row with a conditional update (``claim_token``, ``claimed_until``) before it
    sends, so two workers never send the same row. Each try is a NotificationAttempt.
    """

    event = models.ForeignKey("monitoring.AlertEvent", on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="notifications")
    alert = models.ForeignKey("monitoring.Alert", on_delete=models.CASCADE, related_name="notifications")
    state = models.CharField(max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="monitoring_notify_once_per_event_channel")
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="monitoring_notification_due")
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel}"


class NotificationAttempt(models.Model):
    """One try at sending a Notification: when, how it went, and what the receiver said."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    retry_after_seconds = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"try {self.number} of {self.notification_id}: {'ok' if self.ok else 'failed'}"

    @property
    def duration_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class SilenceQuerySet(models.QuerySet):
    def current(self, at: dt.datetime | None = None) -> SilenceQuerySet:
        """Silences whose overall validity includes ``at`` (weekly ones still need ``is_active``)."""
        at = at or timezone.now()
        return self.filter(starts_at__lte=at).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))


class Silence(models.Model):
    """Holds notifications of matching alerts during a time window; the alerts themselves still open.

    Matchers (all that are set must match): a service, a tag of the alert's service, a dedup-key
    prefix, a severity. The window is one-off (``starts_at`` to ``ends_at``) or weekly: on the
    chosen weekdays between ``daily_start`` and ``daily_end`` (local time; an end before the
    start runs past midnight), from ``starts_at`` until ``ends_at`` if given.
    """

    service = models.ForeignKey("monitoring.Service", null=True, blank=True, on_delete=models.CASCADE)
    tag = models.ForeignKey("monitoring.Tag", null=True, blank=True, on_delete=models.CASCADE)
    key_prefix = models.CharField(max_length=200, blank=True, help_text="e.g. metric:disk_space or service:api:")
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, default=Recurrence.ONCE)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = models.CharField(max_length=20, blank=True, help_text="Weekly: 0=Mon … 6=Sun, comma-separated.")
    daily_start = models.TimeField(null=True, blank=True)
    daily_end = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SilenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"Silence {self.matcher_display} ({self.window_display})"

    @property
    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip().isdigit()}

    @property
    def matcher_display(self) -> str:
        parts = []
        if self.service_id:
            parts.append(f"service {self.service}")
        if self.tag_id:
            parts.append(f"tag {self.tag}")
        if self.key_prefix:
            parts.append(f"key {self.key_prefix}*")
        if self.severity:
            parts.append(f"severity {self.severity}")
        return ", ".join(parts) or "everything"

    @property
    def window_display(self) -> str:
        local = timezone.localtime
        if self.recurrence == Recurrence.ONCE:
            end = f"{local(self.ends_at):%Y-%m-%d %H:%M}" if self.ends_at else "until removed"
            return f"{local(self.starts_at):%Y-%m-%d %H:%M} to {end}"
        days = ", ".join(WEEKDAYS[d] for d in sorted(self.weekday_set))
        start = self.daily_start.strftime("%H:%M") if self.daily_start else "?"
        end = self.daily_end.strftime("%H:%M") if self.daily_end else "?"
        until = f" until {local(self.ends_at):%Y-%m-%d}" if self.ends_at else ""
        return f"weekly {days} {start}-{end}{until}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not (self.service_id or self.tag_id or self.key_prefix or self.severity):
            errors["key_prefix"] = "Choose at least one matcher: a service, a tag, a key prefix or a severity."
        if self.recurrence == Recurrence.ONCE:
            if not self.ends_at:
                errors["ends_at"] = "A one-off silence needs an end."
            elif self.starts_at and self.ends_at <= self.starts_at:
                errors["ends_at"] = "The end must be after the start."
        else:
            if not self.weekday_set or any(d > 6 for d in self.weekday_set):
                errors["weekdays"] = "Choose at least one weekday."
            if self.daily_start is None or self.daily_end is None:
                errors["daily_start"] = "A weekly silence needs a daily start and end time."
            elif self.daily_start == self.daily_end:
                errors["daily_end"] = "The daily end must differ from the start."
            if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
                errors["ends_at"] = "The end must be after the start."
        if errors:
            raise ValidationError(errors)

    def is_active(self, at: dt.datetime | None = None) -> bool:
        at = at or timezone.now()
        if at < self.starts_at or (self.ends_at is not None and at >= self.ends_at):
            return False
        if self.recurrence == Recurrence.ONCE:
            return True
        if self.daily_start is None or self.daily_end is None:
            return False
        local = timezone.localtime(at)
        now_t, days = local.time(), self.weekday_set
        if self.daily_start < self.daily_end:
            return local.weekday() in days and self.daily_start <= now_t < self.daily_end
        # Runs past midnight: the part after the start belongs to today, before the end to yesterday.
        return (local.weekday() in days and now_t >= self.daily_start) or (
            (local.weekday() - 1) % 7 in days and now_t < self.daily_end
        )

    def matches(self, alert: Any) -> bool:
        if self.service_id and alert.service_id != self.service_id:
            return False
        if self.tag_id:
            if alert.service is None or self.tag_id not in {t.pk for t in alert.service.tags.all()}:
                return False
        if self.key_prefix and not alert.dedup_key.startswith(self.key_prefix):
            return False
        return not (self.severity and alert.severity != self.severity)


class MaintenanceWindow(models.Model):
    """Planned work on a service: its alerts' notifications are held while an occurrence is open.

    A one-off window runs from ``starts_at`` to ``ends_at``. A recurring one (daily, weekly on
    ``weekdays``, monthly on ``day_of_month``, or a ``cron`` expression) starts at ``at_time``
    local time in ``time_zone`` (``TIME_ZONE`` when blank) and lasts ``duration_minutes``; it
    applies from ``starts_at`` and, when ``ends_at`` is set, until then.
    """

    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="maintenance_windows")
    recurrence = models.CharField(max_length=10, choices=WindowRecurrence.choices, default=WindowRecurrence.ONCE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    at_time = models.TimeField(null=True, blank=True, help_text="Recurring: local start time of each occurrence.")
    weekdays = models.CharField(max_length=20, blank=True, help_text="Weekly: 0=Mon … 6=Sun, comma-separated.")
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Monthly: 1-31.")
    cron = models.CharField(max_length=100, blank=True, help_text="Cron: minute hour day month weekday.")
    duration_minutes = models.PositiveIntegerField(default=60, help_text="Recurring: how long each occurrence lasts.")
    time_zone = models.CharField(max_length=64, blank=True, help_text="e.g. Europe/Berlin; blank: TIME_ZONE.")
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"Maintenance of {self.service} ({self.schedule_display})"

    @property
    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip().isdigit()}

    @property
    def schedule_display(self) -> str:
        local = timezone.localtime
        if self.recurrence == WindowRecurrence.ONCE:
            end = f"{local(self.ends_at):%Y-%m-%d %H:%M}" if self.ends_at else "?"
            return f"{local(self.starts_at):%Y-%m-%d %H:%M} to {end}"
        at = self.at_time.strftime("%H:%M") if self.at_time else "?"
        zone = self.time_zone or settings.TIME_ZONE
        what = {
            WindowRecurrence.DAILY: f"daily at {at}",
            WindowRecurrence.WEEKLY: f"weekly {', '.join(WEEKDAYS[d] for d in sorted(self.weekday_set) if d < 7)} at {at}",
            WindowRecurrence.MONTHLY: f"monthly on day {self.day_of_month} at {at}",
            WindowRecurrence.CRON: f"cron '{self.cron}'",
        }.get(self.recurrence, self.recurrence)
        until = f" until {local(self.ends_at):%Y-%m-%d}" if self.ends_at else ""
        return f"{what} ({zone}) for {self.duration_minutes} min{until}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.recurrence == WindowRecurrence.ONCE:
            if not self.ends_at:
                errors["ends_at"] = "A one-off window needs an end."
            elif self.starts_at and self.ends_at <= self.starts_at:
                errors["ends_at"] = "The end must be after the start."
        else:
            if not self.duration_minutes:
                errors["duration_minutes"] = "A recurring window needs a duration."
            if self.recurrence != WindowRecurrence.CRON and self.at_time is None:
                errors["at_time"] = "Give the local time each occurrence starts."
            if self.recurrence == WindowRecurrence.WEEKLY and (
                not self.weekday_set or any(d > 6 for d in self.weekday_set)
            ):
                errors["weekdays"] = "Choose at least one weekday (0=Mon … 6=Sun)."
            if self.recurrence == WindowRecurrence.MONTHLY and not (self.day_of_month and 1 <= self.day_of_month <= 31):
                errors["day_of_month"] = "Give a day of the month from 1 to 31."
            if self.recurrence == WindowRecurrence.CRON and not valid_cron(self.cron.strip()):
                errors["cron"] = "Not a valid cron expression (minute hour day month weekday)."
            if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
                errors["ends_at"] = "The end must be after the start."
        if self.time_zone and not valid_zone(self.time_zone):
            errors["time_zone"] = f"Unknown time zone {self.time_zone!r} (use a name like Europe/Berlin)."
        if errors:
            raise ValidationError(errors)

    def occurrence_at(self, at: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime] | None:
        return active_occurrence(self, at or timezone.now())

    def is_active(self, at: dt.datetime | None = None) -> bool:
        return self.occurrence_at(at) is not None

    def ends_display(self, at: dt.datetime | None = None) -> str:
        current = self.occurrence_at(at)
        end = current[1] if current else self.ends_at
        return f"{timezone.localtime(end):%Y-%m-%d %H:%M}" if end else "?"

    def next_occurrences(
        self, after: dt.datetime | None = None, limit: int = 5
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        return list(occurrences(self, after or timezone.now(), limit=limit))
