"""Forms of the agents part: an agent in the registry, and the log view's filters."""

from __future__ import annotations

from django import forms

from ..services.models import Service
from .choices import LogLevel
from .models import Agent


class AgentForm(forms.ModelForm):
    """Add or edit an agent: its name in the product, its service, and whether to poll the product."""

    class Meta:
        model = Agent
        fields = [
            "slug",
            "name",
            "kind",
            "description",
            "service",
            "poll_url",
            "poll_interval_seconds",
            "enabled",
            "position",
        ]
        labels = {"slug": "Name in the product", "name": "Display name", "poll_url": "Product base URL to poll"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class LogFilterForm(forms.Form):
    """Filters of the log view: service, agent, lowest level, text, time range."""

    service = forms.ModelChoiceField(Service.objects.order_by("name"), required=False, to_field_name="slug")
    agent = forms.ModelChoiceField(Agent.objects.order_by("position", "slug"), required=False, to_field_name="slug")
    level = forms.ChoiceField(choices=[("", "any level"), *LogLevel.choices], required=False, label="At least")
    q = forms.CharField(required=False, max_length=200, label="Text")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean_q(self) -> str:
        value = self.cleaned_data.get("q") or ""
        if "\x00" in value:
            raise forms.ValidationError("NUL characters are not allowed.")
        return value
