"""The dashboard's filter form: the services' filters (text, kind, tag, state) plus how to group the board."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.db import models

from monitoring.services.forms import ServiceFilterForm
from opsportal.web import Lookup


class Grouping(models.TextChoices):
    """How the board groups its services."""

    STATE = "state", "State"
    KIND = "kind", "Kind"
    TAG = "tag", "Tag"


class BoardFilterForm(ServiceFilterForm):
    """Filters of the board. ``state`` is applied by the board itself, on the effective state
    (a disabled service is paused whatever its last status), after the counts per state are
    taken: the counts on top are true for everything the other filters match."""

    group = forms.ChoiceField(label="Group by", required=False, choices=Grouping.choices)
    lookups: ClassVar[dict[str, Lookup]] = {
        name: lookup for name, lookup in ServiceFilterForm.lookups.items() if name != "state"
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.input_type = "search"
        self.fields["q"].widget.attrs["autocomplete"] = "off"

    def grouping(self) -> str:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("group"):
            return self.cleaned_data["group"]
        return Grouping.STATE

    def state(self) -> str:
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get("state") or ""
        return ""

    def filter_items(self, *, without: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """The filters in use as (name, value) pairs, in field order, for links and the live form."""
        if not self.is_bound or not self.is_valid():
            return []
        return [
            (name, str(self.data.get(name, "")))
            for name in self.fields
            if name not in without
            and self.cleaned_data.get(name) not in (None, "", [], ())
            and not (name == "group" and self.cleaned_data[name] == Grouping.STATE)
        ]
