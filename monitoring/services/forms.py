"""Forms of the services side: service editing, dashboard filters, JSON import."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from monitoring.services.choices import ServiceKind, ServiceStatus
from monitoring.services.models import Service, Tag
from opsportal.web import FilterForm

# Header names whose values are credentials: they belong in secret headers (read from the environment).
SECRET_LOOKING = re.compile(r"^(authorization|proxy-authorization|cookie|x-api-key|api-key)$|token|secret|passw", re.I)

# Path words under /services/ that a slug must not take.
RESERVED_SLUGS = {"new", "import"}

CONFIG_FIELDS = [
    "name",
    "slug",
    "kind",
    "environment",
    "description",
    "parent",
    "enabled",
    "interval_seconds",
    "timeout_seconds",
    "fail_threshold",
    "recover_threshold",
    "check_type",
    "url",
    "method",
    "headers",
    "secret_headers",
    "accepted_statuses",
    "expect_json_path",
    "expect_json_value",
    "expect_text",
    "degraded_latency_ms",
    "body_limit_bytes",
    "max_redirects",
    "verify_tls",
    "cert_warn_days",
    "cert_alert_days",
    "host",
    "port",
    "dsn_env",
    "heartbeat_schedule",
    "heartbeat_period_seconds",
    "heartbeat_cron",
    "heartbeat_timezone",
    "heartbeat_grace_seconds",
]


HEARTBEAT_FIELDS = [name for name in CONFIG_FIELDS if name.startswith("heartbeat_")]


class HeaderLinesField(forms.CharField):
    """A textarea of "Name: value" lines that becomes a {name: value} dict."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{k}: {v}" for k, v in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        result: dict[str, str] = {}
        for number, line in enumerate(str(value or "").splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, rest = line.partition(":")
            if not sep or not name.strip():
                raise ValidationError(f"Line {number}: write 'Header-Name: value'.")
            result[name.strip()] = rest.strip()
        return result


def parse_tags(text: str) -> list[str]:
    names = []
    for raw in re.split(r"[,\n]+", text or ""):
        raw = raw.strip()
        if not raw:
            continue
        name = slugify(raw)
        if not name or len(name) > 50:
            raise ValidationError(f"{raw!r} is not a usable tag (letters, digits, dashes; at most 50).")
        if name not in names:
            names.append(name)
    return names


class ServiceForm(forms.ModelForm):
    """Create or edit a service's configuration; its state fields are never written from here."""

    tags_text = forms.CharField(
        label="Tags", required=False, help_text="Comma-separated, e.g. team-ai, tier-1, eu-west."
    )
    headers = HeaderLinesField(
        required=False, help_text="One 'Header-Name: value' per line. No credentials here: use secret headers."
    )
    secret_headers = HeaderLinesField(
        required=False,
        help_text="One 'Header-Name: ENV_VARIABLE' per line; the value is read from that environment "
        "variable when probing and is never stored or shown.",
    )

    class Meta:
        model = Service
        fields = CONFIG_FIELDS
        labels = {
            "url": "URL",
            "interval_seconds": "Interval (seconds)",
            "timeout_seconds": "Timeout (seconds)",
            "degraded_latency_ms": "Degraded above (ms)",
            "expect_json_path": "Expected JSON path",
            "expect_json_value": "Expected JSON value",
            "expect_text": "Expected text",
            "accepted_statuses": "Accepted HTTP statuses",
            "body_limit_bytes": "Body read limit (bytes)",
            "verify_tls": "Verify the TLS certificate",
            "cert_warn_days": "Certificate: warn days before expiry",
            "cert_alert_days": "Certificate: alert days before expiry",
            "dsn_env": "Connection URL variable",
            "enabled": "Enabled (probed on schedule)",
            "heartbeat_schedule": "Expect a ping",
            "heartbeat_period_seconds": "Period (seconds)",
            "heartbeat_cron": "Cron expression",
            "heartbeat_timezone": "Cron time zone",
            "heartbeat_grace_seconds": "Grace (seconds)",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "url": forms.TextInput(attrs={"placeholder": "https://api.example.com/api/health"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Used in URLs and the API; taken from the name when left empty."
        parents = Service.objects.only("pk", "name").order_by("name")
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
            self.fields["tags_text"].initial = ", ".join(t.name for t in self.instance.tags.all())
        self.fields["parent"].queryset = parents
        for name in HEARTBEAT_FIELDS:  # only a heartbeat check needs them; empty keeps the default
            self.fields[name].required = False

    FIELDSETS = [
        ("Service", ["name", "slug", "kind", "environment", "tags_text", "parent", "description", "enabled"]),
        (
            "Schedule and thresholds",
            ["interval_seconds", "timeout_seconds", "fail_threshold", "recover_threshold", "degraded_latency_ms"],
        ),
        (
            "HTTP(S) check",
            [
                "check_type",
                "method",
                "url",
                "accepted_statuses",
                "expect_json_path",
                "expect_json_value",
                "expect_text",
                "headers",
                "secret_headers",
                "body_limit_bytes",
                "max_redirects",
                "verify_tls",
                "cert_warn_days",
                "cert_alert_days",
            ],
        ),
        ("TCP and PostgreSQL checks", ["host", "port", "dsn_env"]),
        (
            "Heartbeat check (the job pings the portal)",
            [
                "heartbeat_schedule",
                "heartbeat_period_seconds",
                "heartbeat_cron",
                "heartbeat_timezone",
                "heartbeat_grace_seconds",
            ],
        ),
    ]
    WIDE = {"url", "description", "headers", "secret_headers"}

    def fieldsets(self) -> list[tuple[str, list[Any]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in HEARTBEAT_FIELDS:
            if data.get(name) in (None, "") and name in self.errors:
                continue
            if data.get(name) in (None, "") and name not in ("heartbeat_cron", "heartbeat_timezone"):
                data[name] = Service._meta.get_field(name).default
                setattr(self.instance, name, data[name])
        return data

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("name") or self.data.get("name", ""))
        if not slug:
            raise ValidationError("Give a slug (or a name to make one from).")
        if slug in RESERVED_SLUGS:
            raise ValidationError(f"{slug!r} is reserved; choose another slug.")
        return slug[:100]

    def clean_headers(self) -> dict[str, str]:
        headers = self.cleaned_data.get("headers") or {}
        for name in headers:
            if SECRET_LOOKING.search(name):
                raise ValidationError(
                    f"{name} looks like a credential: put it in secret headers as '{name}: ENV_VARIABLE'."
                )
        return headers

    def clean_tags_text(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags_text", ""))

    @transaction.atomic
    def save(self, commit: bool = True) -> Service:
        service: Service = super().save(commit=False)
        if service.pk is None:
            service.save()
        else:
            service.save(update_fields=[*CONFIG_FIELDS, "updated_at"])
        names = self.cleaned_data.get("tags_text") or []
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
        tags = [existing.get(n) or Tag.objects.create(name=n) for n in names]
        current = {t.pk for t in service.tags.all()}
        if current != {t.pk for t in tags}:
            service.tags.set(tags)
        return service  # a post_save handler pauses or resumes it when "enabled" changed


class ServiceFilterForm(FilterForm):
    """Filters of the dashboard and the service list: kind, tag, state and free text."""

    q = forms.CharField(label="Search", required=False, widget=forms.TextInput(attrs={"placeholder": "name or URL"}))
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *ServiceKind.choices])
    tag = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", "All states"), *ServiceStatus.choices])
    lookups = {"q": ("name__icontains", "url__icontains"), "kind": "kind", "tag": "tags__name", "state": "status"}

    def __init__(self, *args: Any, tags: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "All tags"), *((t, t) for t in (tags or []))]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A JSON file exported from this page (services are matched by slug).")

    MAX_BYTES = 2 * 1024 * 1024

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 2 MB.")
        return upload
