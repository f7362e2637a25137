"""Forms for users, roles and API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from .roles import ROLE_CHOICES, roles_up_to
from .web import FilterForm

User = get_user_model()


class UserCreateForm(forms.ModelForm):
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="Viewer")
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        help_text="At least 10 characters. Share it with the person over a safe channel.",
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password, self.instance)
        return password

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


class UserEditForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[("", "No role (cannot sign in to the console)"), *ROLE_CHOICES], required=False)

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "is_active"]
        labels = {"is_active": "Active (may sign in)"}


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'grafana' or 'deploy pipeline'.")
    role = forms.ChoiceField(help_text="A token never has more than your own role.")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for a token that does not expire."
    )

    def __init__(self, *args: Any, owner_role: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(r, r) for r in roles_up_to(owner_role)]
        self.fields["role"].choices = choices
        if choices:
            self.fields["role"].initial = choices[0][0]

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + dt.timedelta(days=days) if days else None


class AuditFilterForm(FilterForm):
    """Filters of the audit log: text, actor, action, channel, object type and a date range."""

    q = forms.CharField(required=False, label="Search")
    actor = forms.CharField(required=False)
    action = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(required=False)
    object_type = forms.CharField(required=False, label="Object type")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    lookups = {
        "q": ("object_repr__icontains", "summary__icontains"),
        "actor": "actor_name__icontains",
        "action": "action",
        "channel": "channel",
        "object_type": "object_type__icontains",
    }
    date_field = "at"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .models import AuditRecord

        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "any"), *list(AuditRecord.Action.choices)]
        self.fields["channel"].choices = [("", "any"), *list(AuditRecord.Channel.choices)]
