"""Forms for runbooks (editing the Markdown), execution steps and finishing an execution."""

from __future__ import annotations

from django import forms
from django.utils.text import slugify

from ..choices import Outcome, RunbookKind
from ..markdown import parse_steps
from ..models import Runbook
from ..runbooks import NOTE_LIMIT, OUTPUT_LIMIT

RESERVED_SLUGS = {"new", "open"}


class RunbookForm(forms.Form):
    title = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=RunbookKind.choices)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "class": "mono"}),
        max_length=100_000,
        help_text="Markdown. Steps are the numbered list; commands go in fenced code blocks inside a step.",
    )
    change_note = forms.CharField(max_length=200, required=False, help_text="What changed (kept with the version).")

    def __init__(self, *args: object, runbook: Runbook | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.runbook = runbook

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        clash = Runbook.objects.filter(title__iexact=title)
        if self.runbook is not None:
            clash = clash.exclude(pk=self.runbook.pk)
        if slugify(title) in RESERVED_SLUGS:
            raise forms.ValidationError("Choose another title: its address would clash with a page of the console.")
        if clash.exists() or not slugify(title):
            raise forms.ValidationError("Another runbook has this title (or it has no letters).")
        if self.runbook is None and Runbook.objects.filter(slug=slugify(title)).exists():
            raise forms.ValidationError("Another runbook has this title.")
        return title

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not parse_steps(body):
            raise forms.ValidationError("Give at least one step as a numbered list item (1. Do this).")
        return body


class StepDoneForm(forms.Form):
    note = forms.CharField(max_length=NOTE_LIMIT, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # Longer output is cut to OUTPUT_LIMIT characters (and marked), never refused.
    output = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["output"].help_text = f"Pasted output is kept up to {OUTPUT_LIMIT:,} characters."


class StepSkipForm(forms.Form):
    reason = forms.CharField(max_length=500)


class FinishForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    note = forms.CharField(max_length=NOTE_LIMIT, required=False, widget=forms.Textarea(attrs={"rows": 3}))
