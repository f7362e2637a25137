"""Bad form input to the maintenance actions: a message and a redirect, nothing stored, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from maintenance.choices import Outcome
from maintenance.models import ChecklistItem, PostMortem, RunbookVersion
from tests.maintenance.fixtures import daily_item, execution, runbook

pytestmark = pytest.mark.django_db
FIELDS = st.dictionaries(
    st.sampled_from(["note", "output", "reason", "outcome", "action", "item", "text", "evidence", "summary", "body"]),
    st.one_of(st.text(max_size=300), st.integers().map(str), st.just("x" * 5000)),
    max_size=5,
)
QUICK = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@QUICK
@given(data=FIELDS)
def test_step_and_finish_forms_never_fail(data: dict[str, str], users: dict[str, Any], client_for: Any) -> None:
    ex = execution(users["editor"])
    editor = client_for("editor")
    for name in ("maintenance:step_done", "maintenance:step_skip", "maintenance:step_reopen"):
        for position in (1, 99):
            response = editor.post(reverse(name, kwargs={"pk": ex.pk, "position": position}), data)
            assert response.status_code in (302, 404)
    response = editor.post(reverse("maintenance:execution_finish", kwargs={"pk": ex.pk}), data)
    assert response.status_code == 302
    ex.refresh_from_db()
    assert (ex.state == "finished") == (data.get("outcome") in Outcome.values and len(data.get("note", "")) <= 4000)
    skipped = ex.steps.filter(state="skipped")
    assert all(s.skip_reason.strip() for s in skipped)


@QUICK
@given(data=FIELDS)
def test_tick_and_template_forms_never_fail(data: dict[str, str], users: dict[str, Any], client_for: Any) -> None:
    item = daily_item()  # hypothesis runs every example in the same test transaction
    was_ticked = item.is_ticked
    before = ChecklistItem.objects.count()
    assert client_for("editor").post(reverse("maintenance:item_tick", kwargs={"pk": item.pk}), data).status_code == 302
    item.refresh_from_db()
    assert item.is_ticked == (was_ticked or len(data.get("note", "")) <= 2000)
    url = reverse("maintenance:checklist_edit", kwargs={"cadence": "daily"})
    assert client_for("admin").post(url, data).status_code == 302
    added = ChecklistItem.objects.count() - before
    text = data.get("text", "").strip()
    assert added == (1 if data.get("action") == "add" and 0 < len(text) <= 200 else 0)


@QUICK
@given(data=FIELDS)
def test_runbook_and_postmortem_forms_never_fail(data: dict[str, str], users: dict[str, Any], client_for: Any) -> None:
    book = runbook()
    versions = RunbookVersion.objects.count()
    response = client_for("admin").post(reverse("maintenance:runbook_edit", kwargs={"slug": book.slug}), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert RunbookVersion.objects.count() == versions
    ex = execution(users["editor"], incident=True)
    response = client_for("editor").post(reverse("maintenance:postmortem_edit", kwargs={"pk": ex.incident_id}), data)
    assert response.status_code in (200, 302)  # no management form: the formset is invalid, nothing saved
    assert not PostMortem.objects.filter(incident_id=ex.incident_id).exists()
