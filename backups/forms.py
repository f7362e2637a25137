"""Forms for sources, destinations, policies, restores into a scratch target and real restores."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.text import slugify

from .choices import POLICY_COMPRESSIONS, RestoreMode, RunState, SourceKind
from .engines import engine_for
from .engines.base import EngineError
from .models import BackupRun, Destination, MissingCredential, Policy, Source
from .targets import DrillRefused, RestoreRefused, check_restore, check_target_name

RESERVED_SLUGS = {"new"}


class SlugFromNameMixin:
    """Fills an empty slug from the name and refuses slugs the URLs reserve."""

    def clean_slug(self) -> str:
        data: dict[str, Any] = self.cleaned_data  # type: ignore[attr-defined]
        slug = data.get("slug") or slugify(data.get("name") or "")
        if not slug:
            raise forms.ValidationError("Give a slug (letters, digits, hyphens) or a name to make one from.")
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(f"'{slug}' is reserved; choose another slug.")
        model = self._meta.model  # type: ignore[attr-defined]
        clash = model.objects.filter(slug=slug).exclude(pk=self.instance.pk)  # type: ignore[attr-defined]
        if clash.exists():
            raise forms.ValidationError(f"Another {model._meta.verbose_name} already uses the slug '{slug}'.")
        return slug


class SourceForm(SlugFromNameMixin, forms.ModelForm):
    class Meta:
        model = Source
        fields = ["name", "slug", "kind", "url_env", "restore_url_env", "path", "is_portal_database", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Used in URLs and object keys; made from the name when left empty."


class DestinationForm(SlugFromNameMixin, forms.ModelForm):
    endpoint_url = forms.URLField(
        required=False, assume_scheme="https", help_text="S3-compatible endpoint; empty for AWS."
    )

    class Meta:
        model = Destination
        fields = [
            "name",
            "slug",
            "kind",
            "path",
            "bucket",
            "prefix",
            "endpoint_url",
            "region",
            "access_key_env",
            "secret_key_env",
            "sse",
            "kms_key_id",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["access_key_env"].help_text = "Name of the variable holding the access key (empty: boto3's chain)."
        self.fields["secret_key_env"].help_text = "Name of the variable holding the secret key."

    def clean_endpoint_url(self) -> str:
        url = self.cleaned_data.get("endpoint_url") or ""
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise forms.ValidationError("Use an http:// or https:// endpoint.")
            if parts.username or parts.password or "@" in parts.netloc:
                raise forms.ValidationError("Do not put credentials in the URL; name the key variables below.")
        return url

    def clean_prefix(self) -> str:
        prefix = (self.cleaned_data.get("prefix") or "").lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if ".." in prefix.split("/"):
            raise forms.ValidationError("The prefix cannot contain '..'.")
        return prefix


class PolicyForm(SlugFromNameMixin, forms.ModelForm):
    compression = forms.ChoiceField(choices=[(c.value, c.label) for c in POLICY_COMPRESSIONS], initial="zstd")

    class Meta:
        model = Policy
        fields = [
            "name",
            "slug",
            "source",
            "destination",
            "enabled",
            "schedule",
            "compression",
            "compression_level",
            "keep_daily",
            "keep_weekly",
            "keep_monthly",
            "smoke_sql",
            "timeout_minutes",
        ]
        widgets = {"smoke_sql": forms.Textarea(attrs={"rows": 3, "placeholder": "SELECT count(*) > 0 FROM users"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        counts = [data.get(k) for k in ("keep_daily", "keep_weekly", "keep_monthly")]
        if all(c == 0 for c in counts):
            raise forms.ValidationError("Keep at least one daily, weekly or monthly backup.")
        return data


class RestoreForm(forms.Form):
    """Restore a chosen backup into a new scratch target; the name must be typed twice."""

    target = forms.CharField(
        label="Scratch database name",
        max_length=63,
        help_text="A new database (SQLite: file, media: folder) whose name starts with the drill prefix.",
    )
    confirm = forms.CharField(label="Type the name again to confirm", max_length=63)

    def __init__(self, *args: Any, policy: Policy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        target, confirm = data.get("target", ""), data.get("confirm", "")
        if not target:
            return data
        if target != confirm:
            self.add_error("confirm", "The names differ; type the target's name exactly to confirm.")
            return data
        try:
            engine = None
            try:
                engine = engine_for(self.policy.source)
            except (MissingCredential, EngineError):
                pass  # the web process may not hold the source's credentials; the worker checks again
            check_target_name(self.policy, target, engine)
        except DrillRefused as exc:
            self.add_error("target", str(exc))
        return data


class RealRestoreForm(forms.Form):
    """Restore a backup for real: a new database, an existing one replaced, or a path (typed twice)."""

    mode = forms.ChoiceField(label="Restore", choices=RestoreMode.choices, widget=forms.RadioSelect)
    target = forms.CharField(
        label="Target",
        max_length=500,
        help_text="PostgreSQL: the database's name. SQLite and media: an absolute path (an existing one is moved aside).",
    )
    target_env = forms.CharField(
        label="URL variable of the database to replace",
        max_length=100,
        required=False,
        help_text="Replace only: the environment variable (on the worker) holding the database's URL, "
        "e.g. RESTORE_TARGET_URL. It must point at the database named above.",
    )
    confirm = forms.CharField(label="Type the target again to confirm", max_length=500)
    restore_anyway = forms.BooleanField(
        label="Restore anyway: this backup is not verified good (recorded in the audit log)", required=False
    )

    def __init__(self, *args: Any, run: BackupRun, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run = run
        kind = run.policy.source.kind
        wanted = [RestoreMode.PATH] if kind != SourceKind.POSTGRES else [RestoreMode.NEW_DATABASE, RestoreMode.REPLACE]
        self.fields["mode"].choices = [(m.value, m.label) for m in wanted]
        self.fields["mode"].initial = wanted[0].value
        if kind != SourceKind.POSTGRES:
            del self.fields["target_env"]
            self.fields["target"].label = "Target path"
            self.fields["target"].help_text = (
                "An absolute path, e.g. /srv/restore/app.sqlite3 (media: a folder). Whatever is there now is "
                "moved aside and kept. The portal's own database file is refused."
            )
        else:
            self.fields["target"].label = "Database name"
            self.fields["target"].help_text = (
                "New: a database that does not exist yet. Replace: the database the variable below points at. "
                "The portal's own database is refused."
            )
        if run.state == RunState.GOOD:
            del self.fields["restore_anyway"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        target, confirm = data.get("target", ""), data.get("confirm", "")
        if not target or not data.get("mode"):
            return data
        if target != confirm:
            self.add_error("confirm", "The two differ; type the target exactly to confirm.")
            return data
        try:
            check_restore(
                self.run.policy,
                self.run,
                mode=data["mode"],
                target=target,
                target_env=data.get("target_env", ""),
                forced=bool(data.get("restore_anyway")),
            )
        except RestoreRefused as exc:
            self.add_error(None, str(exc))
        return data
