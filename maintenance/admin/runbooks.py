"""Django admin for runbooks: saving a changed text makes a new version (versions are read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from ..markdown import parse_steps
from ..models import Incident, Runbook, RunbookVersion
from ..runbooks import save_version


class RunbookAdminForm(forms.ModelForm):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100}), help_text="Markdown; steps are the numbered list."
    )
    change_note = forms.CharField(max_length=200, required=False)

    class Meta:
        model = Runbook
        fields = ("title", "slug", "kind", "position")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.current:
            self.fields["body"].initial = self.instance.current.body

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not parse_steps(body):
            raise forms.ValidationError("Give at least one step as a numbered list item.")
        return body


class VersionInline(admin.TabularInline):
    model = RunbookVersion
    fields = ("number", "created_at", "author_name", "change_note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    form = RunbookAdminForm
    list_display = ("title", "kind", "position", "current")
    list_filter = ("kind",)
    prepopulated_fields = {"slug": ("title",)}
    inlines = [VersionInline]

    def save_model(self, request: HttpRequest, obj: Runbook, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        note = form.cleaned_data.get("change_note") or "edited in the Django admin"
        save_version(obj, form.cleaned_data["body"], author=request.user, note=note)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "state", "opened_at", "closed_at", "alert_id")
    list_filter = ("state",)
    readonly_fields = ("alert_id", "alert_key", "alert_severity", "alert_started_at", "opened_at", "opened_by")
