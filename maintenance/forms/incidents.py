"""The post-mortem form and its follow-up actions (a formset: action, owner, due date)."""

from __future__ import annotations

from django import forms

from ..models import PostMortem


class PostMortemForm(forms.ModelForm):
    class Meta:
        model = PostMortem
        fields = ["summary", "impact", "root_cause", "went_well", "prevent"]
        labels = {
            "summary": "Summary",
            "impact": "Impact",
            "root_cause": "Root cause",
            "went_well": "What went well",
            "prevent": "What to prevent (so it does not recur)",
        }
        widgets = {f: forms.Textarea(attrs={"rows": 3}) for f in fields}


class FollowUpForm(forms.Form):
    text = forms.CharField(max_length=300, required=False, label="Action")
    owner = forms.CharField(max_length=150, required=False)
    due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    done = forms.BooleanField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("text") and not data.get("owner"):
            self.add_error("owner", "Every follow-up action needs an owner.")
        if data.get("owner") and not data.get("text"):
            self.add_error("text", "Say what the owner will do.")
        return data


FollowUpFormSet = forms.formset_factory(FollowUpForm, extra=3, max_num=30)
