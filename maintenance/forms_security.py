"""Forms of the security pages: a registry entry, a rotation step, an audit upload, filters."""

from __future__ import annotations

from typing import Any

from django import forms

from opsportal.models import SignInEvent
from opsportal.web import FilterForm

from .models import Secret
from .secrets_registry import FINGERPRINT_HELP, clean_fingerprint, refuse_secrets
from .security_choices import AuditTool, RotationStepName


class NoEchoMixin:
    """A field refused for looking like a secret is emptied, so the page never shows it back;
    a refused fingerprint is always emptied (whatever the reason, it may be the key itself)."""

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        flagged = [
            name
            for name, errors in self.errors.as_data().items()  # type: ignore[attr-defined]
            if name == "fingerprint" or any(e.code == "secret" for e in errors)
        ]
        if flagged:
            data = self.data.copy()  # type: ignore[attr-defined]
            for name in flagged:
                data[self.add_prefix(name)] = ""  # type: ignore[attr-defined]
            self.data = data


class SecretForm(NoEchoMixin, forms.ModelForm):
    fingerprint = forms.CharField(required=False, max_length=64, help_text=FINGERPRINT_HELP)

    class Meta:
        model = Secret
        fields = ["name", "where_used", "owner", "fingerprint", "last_rotated_at", "rotation_days", "notes"]
        widgets = {
            "last_rotated_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("name", "where_used", "owner", "notes"):
            value = data.get(name) or ""
            try:
                refuse_secrets(value)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return data

    def clean_fingerprint(self) -> str:
        return clean_fingerprint(self.cleaned_data.get("fingerprint", ""))


class TickStepForm(NoEchoMixin, forms.Form):
    step = forms.ChoiceField(choices=RotationStepName.choices)
    note = forms.CharField(required=False, max_length=300)
    fingerprint = forms.CharField(
        required=False, max_length=64, help_text="The new key's fingerprint. " + FINGERPRINT_HELP
    )

    def clean_note(self) -> str:
        return refuse_secrets(self.cleaned_data.get("note", ""))

    def clean_fingerprint(self) -> str:
        return clean_fingerprint(self.cleaned_data.get("fingerprint", ""))


class AuditUploadForm(forms.Form):
    project = forms.CharField(max_length=100, initial="ops-portal", help_text="Which project the report is of.")
    tool = forms.ChoiceField(choices=[("", "detect from the file"), *AuditTool.choices], required=False)
    report = forms.FileField(help_text="The output of pip-audit --format json or npm audit --json.")


class SignInFilterForm(FilterForm):
    """Filters of the sign-in history: user or address, kind and a date range."""

    q = forms.CharField(required=False, label="User or address")
    kind = forms.ChoiceField(required=False, choices=[("", "any"), *SignInEvent.Kind.choices])
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    lookups = {"q": ("username__icontains", "ip__startswith"), "kind": "kind"}
    date_field = "at"


class VacuumForm(forms.Form):
    target = forms.CharField(max_length=100)
    table = forms.CharField(max_length=200, required=False)
