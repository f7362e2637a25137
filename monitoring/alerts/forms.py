"""Forms of the alerts pages: acting on alerts, silences, maintenance windows, channels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from monitoring.alerts.choices import ChannelKind, Recurrence, Severity
from monitoring.alerts.models import WEEKDAYS, MaintenanceWindow, NotificationChannel, Silence
from monitoring.services.models import Service, Tag
from opsportal.web import FilterForm

PERIODS = {
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
}


class NoteForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    note = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Comment")


class AlertFilterForm(FilterForm):
    """Filters of the alerts list (the state is applied by alerts.views.filtered_alerts) and the
    period of its MTTA/MTTR figures (``since``/``until`` choose that period; they narrow nothing)."""

    STATE_CHOICES = [
        ("open", "Open (firing or acknowledged)"),
        ("firing", "Firing"),
        ("acknowledged", "Acknowledged"),
        ("resolved", "Resolved"),
        ("all", "All"),
    ]
    state = forms.ChoiceField(choices=STATE_CHOICES, required=False)
    severity = forms.ChoiceField(choices=[("", "Any"), *Severity.choices], required=False)
    service = forms.ModelChoiceField(Service.objects.all(), required=False, to_field_name="slug", empty_label="Any")
    source = forms.ChoiceField(choices=[("", "Any")], required=False)
    q = forms.CharField(max_length=100, required=False, label="Search")
    period = forms.ChoiceField(
        choices=[(k, f"last {k}") for k in PERIODS] + [("custom", "custom dates")],
        required=False,
        initial="30d",
        label="MTTA/MTTR over",
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Custom from")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Custom to")

    lookups = {
        "severity": "severity",
        "service": "service",
        "source": "source",
        "q": ("summary__icontains", "dedup_key__icontains"),
    }

    def __init__(self, *args: Any, sources: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "Any")] + [(s, s) for s in sorted(sources or [])]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "The end date must not be before the start date.")
        return data

    def window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime, str]:
        """The MTTA/MTTR period: (since, until, description)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("period") == "custom" and data.get("since"):
            tz = timezone.get_current_timezone()
            since = dt.datetime.combine(data["since"], dt.time.min, tzinfo=tz)
            until_date = data.get("until") or timezone.localdate(now)
            until = dt.datetime.combine(until_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            return since, until, f"{data['since']:%Y-%m-%d} to {until_date:%Y-%m-%d}"
        key = data.get("period") or "30d"
        return now - PERIODS.get(key, PERIODS["30d"]), now, f"last {key if key in PERIODS else '30d'}"


class SilenceForm(forms.ModelForm):
    weekday_choices = forms.MultipleChoiceField(
        choices=list(enumerate(WEEKDAYS)), required=False, widget=forms.CheckboxSelectMultiple, label="Weekdays"
    )

    class Meta:
        model = Silence
        fields = [
            "service",
            "tag",
            "key_prefix",
            "severity",
            "recurrence",
            "starts_at",
            "ends_at",
            "daily_start",
            "daily_end",
            "reason",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "daily_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "daily_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {
            "ends_at": "One-off: when the silence ends. Weekly: optional last day.",
            "daily_start": "Weekly: local time the silence starts each chosen day.",
        }

    field_order = [
        "service",
        "tag",
        "key_prefix",
        "severity",
        "recurrence",
        "starts_at",
        "ends_at",
        "weekday_choices",
        "daily_start",
        "daily_end",
        "reason",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.order_by("name")
        self.fields["tag"].queryset = Tag.objects.all()
        self.fields["service"].empty_label = self.fields["tag"].empty_label = "(any)"
        self.fields["severity"].choices = [("", "(any)"), *Severity.choices]
        self.fields["starts_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["recurrence"].widget = forms.RadioSelect(choices=Recurrence.choices)
        if self.instance.pk:
            self.fields["weekday_choices"].initial = [str(d) for d in sorted(self.instance.weekday_set)]

    def add_error(self, field: str | None, error: Any) -> None:
        # The model validates ``weekdays``; the form shows it as the weekday checkboxes.
        if field == "weekdays":
            field = "weekday_choices"
        if isinstance(error, ValidationError) and hasattr(error, "error_dict") and "weekdays" in error.error_dict:
            error.error_dict["weekday_choices"] = error.error_dict.pop("weekdays")
        super().add_error(field, error)

    def _post_clean(self) -> None:
        days = self.cleaned_data.get("weekday_choices") or []
        self.instance.weekdays = ",".join(str(d) for d in sorted({int(d) for d in days}))
        super()._post_clean()


class MaintenanceWindowForm(forms.ModelForm):
    """One-off (start to end) or recurring (daily, weekly days, monthly day, cron) with a duration."""

    weekday_choices = forms.MultipleChoiceField(
        choices=[(str(i), d) for i, d in enumerate(WEEKDAYS)],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Weekdays (weekly)",
    )

    class Meta:
        model = MaintenanceWindow
        fields = [
            "service",
            "recurrence",
            "starts_at",
            "ends_at",
            "at_time",
            "day_of_month",
            "cron",
            "duration_minutes",
            "time_zone",
            "reason",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "at_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"starts_at": "Starts (one-off) / applies from (recurring)", "ends_at": "Ends / applies until"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.order_by("name")
        if self.instance.pk:
            self.initial.setdefault("weekday_choices", [str(d) for d in sorted(self.instance.weekday_set)])

    def _post_clean(self) -> None:
        days = self.cleaned_data.get("weekday_choices") or []
        self.instance.weekdays = ",".join(str(d) for d in sorted({int(d) for d in days}))
        super()._post_clean()


class ChannelForm(forms.ModelForm):
    """The Apprise URL is write-only: never rendered back; left empty on edit it stays as it was."""

    url = forms.CharField(
        required=False,
        label="Apprise URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="e.g. slack://…, msteams://…, ntfys://…, json://host/path. Stored as a secret: never shown again.",
    )

    class Meta:
        model = NotificationChannel
        fields = [
            "name",
            "kind",
            "url",
            "emails",
            "min_severity",
            "services",
            "tags",
            "notify_acknowledged",
            "notify_resolved",
            "repeat_minutes",
            "escalate_after_minutes",
            "enabled",
        ]
        widgets = {
            "services": forms.CheckboxSelectMultiple,
            "tags": forms.CheckboxSelectMultiple,
            "emails": forms.TextInput,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_url = self.instance.url if self.instance.pk else ""
        if self.instance.pk and self.instance.kind == ChannelKind.APPRISE:
            self.fields[
                "url"
            ].help_text = f"Saved: {self.instance.url_masked}. Leave empty to keep it; type a new URL to replace it."

    def clean_url(self) -> str:
        from monitoring.alerts.apprise_io import validate_apprise_url

        url = (self.cleaned_data.get("url") or "").strip()
        if not url:
            return self._stored_url
        validate_apprise_url(url)
        return url

    def clean_emails(self) -> str:
        value = self.cleaned_data.get("emails") or ""
        addresses = [e.strip() for e in value.split(",") if e.strip()]
        validator = forms.EmailField()
        for address in addresses:
            validator.clean(address)
        return ", ".join(addresses)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == ChannelKind.EMAIL:
            data["url"] = ""
        return data

    def save(self, commit: bool = True) -> NotificationChannel:
        from monitoring.alerts.apprise_io import mask_url

        channel = super().save(commit=False)
        channel.url_masked = mask_url(channel.url) if channel.kind == ChannelKind.APPRISE and channel.url else ""
        if commit:
            channel.save()
            self.save_m2m()
        return channel
