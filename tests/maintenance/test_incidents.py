"""Incidents: started from an alert's runbook link, finished with a post-mortem, one merged timeline, Markdown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from maintenance.models import Incident, RunbookExecution
from monitoring.models import Deployment, Service
from monitoring.public import raise_alert
from tests.maintenance.fixtures import runbook

pytestmark = pytest.mark.django_db


def down_alert() -> Any:
    service = Service.objects.create(name="API", slug="api", kind="http", url="http://127.0.0.1:9/", status="down")
    Deployment.objects.create(
        service=service, version="v41", status="succeeded", at=timezone.now() - dt.timedelta(hours=30)
    )
    Deployment.objects.create(
        service=service, version="v42", status="succeeded", at=timezone.now() - dt.timedelta(minutes=20)
    )
    alert = raise_alert(
        "service:api:down",
        summary="API is down: connection refused",
        source="monitoring",
        service=service,
        runbook="Service Is Down",
    )
    return alert


def test_alert_link_opens_the_runbook_with_the_alert(client_for: Any) -> None:
    runbook()
    alert = down_alert()
    viewer = client_for("viewer")
    response = viewer.get(reverse("maintenance:runbook_open"), {"title": alert.runbook, "alert": alert.pk})
    assert response.status_code == 302
    page = viewer.get(response["Location"]).content.decode()
    assert "API is down: connection refused" in page
    assert 'data-testid="start-execution"' not in page  # viewers read; they cannot start
    page = client_for("editor").get(response["Location"]).content.decode()
    assert f'name="alert" value="{alert.pk}"' in page
    missing = viewer.get(reverse("maintenance:runbook_open"), {"title": "No Such Runbook"}, follow=True)
    assert missing.redirect_chain[-1][0] == reverse("maintenance:runbooks")
    assert "No runbook is titled “No Such Runbook” yet." in missing.content.decode()


def test_execution_from_alert_is_an_incident_with_post_mortem(users: dict[str, Any], client_for: Any) -> None:
    book = runbook()
    alert = down_alert()
    editor = client_for("editor")
    response = editor.post(reverse("maintenance:execution_start", kwargs={"slug": book.slug}), {"alert": alert.pk})
    ex = RunbookExecution.objects.get()
    assert response["Location"] == reverse("maintenance:execution", kwargs={"pk": ex.pk})
    incident = ex.incident
    assert incident.alert_id == alert.pk and incident.alert_key == "service:api:down" and incident.service_name == "API"
    # A second execution for the same alert joins the same incident.
    editor.post(reverse("maintenance:execution_start", kwargs={"slug": "emergency-rollback"}), {"alert": alert.pk})
    assert Incident.objects.count() == 1 and incident.executions.count() == 2
    second = incident.executions.exclude(pk=ex.pk).get()
    editor.post(reverse("maintenance:execution_finish", kwargs={"pk": second.pk}), {"outcome": "abandoned"})

    step = lambda n: reverse("maintenance:step_done", kwargs={"pk": ex.pk, "position": n})  # noqa: E731
    editor.post(step(1), {"note": "container OOM-killed", "output": "railway logs\nKilled (exit 137)"})
    editor.post(step(2), {"note": "memory at 98 %"})
    editor.post(step(3), {"note": "redeployed"})
    editor.post(reverse("maintenance:step_skip", kwargs={"pk": ex.pk, "position": 4}), {"reason": "up after restart"})
    response = editor.post(reverse("maintenance:execution_finish", kwargs={"pk": ex.pk}), {"outcome": "resolved"})
    assert response["Location"] == reverse("maintenance:postmortem_edit", kwargs={"pk": incident.pk})
    incident.refresh_from_db()
    assert incident.state == "closed"

    form = editor.get(response["Location"]).content.decode()
    assert "Root cause" in form and "Follow-up actions" in form
    bad = editor.post(
        response["Location"],
        {
            "summary": "",
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "0",
            "actions-0-text": "Add alerting on memory",
            "actions-0-owner": "",
        },
    )
    assert bad.status_code == 200 and "needs an owner" in bad.content.decode()
    saved = editor.post(
        response["Location"],
        {
            "summary": "API down 6 minutes after v42",
            "impact": "All requests failed",
            "root_cause": "v42 doubled the cache size; the container ran out of memory",
            "went_well": "Runbook steps 1-3 found it fast",
            "prevent": "Memory alert at 80 %",
            "actions-TOTAL_FORMS": "2",
            "actions-INITIAL_FORMS": "0",
            "actions-0-text": "Alert when memory passes 80 %",
            "actions-0-owner": "eddie-editor",
            "actions-0-due": "2026-12-15",
            "actions-1-text": "",
            "actions-1-owner": "",
        },
    )
    assert saved.status_code == 302
    assert incident.postmortem.actions.get().owner == "eddie-editor"

    page = client_for("viewer").get(reverse("maintenance:incident", kwargs={"pk": incident.pk})).content.decode()
    order = [
        page.index("Alert fired"),
        page.index("Started Service Is Down (v1)"),
        page.index("Step 1 done: Check service status"),
        page.index("Killed (exit 137)"),
        page.index("Skipped step 4: If still down, rollback"),
        page.index("Finished Service Is Down: Resolved"),
    ]
    assert order == sorted(order)
    assert "Deployment of API v42: succeeded" in page
    assert "v41" not in page  # 30 hours before: outside the window
    assert "@media print" in open("static/css/maintenance.css").read()

    md = client_for("viewer").get(reverse("maintenance:incident_markdown", kwargs={"pk": incident.pk}))
    assert md["Content-Type"].startswith("text/markdown")
    text = md.content.decode()
    assert text.startswith("# Post-mortem: API is down: connection refused")
    for heading in (
        "## Summary",
        "## Impact",
        "## Root cause",
        "## What went well",
        "## What to prevent",
        "## Timeline",
    ):
        assert heading in text
    assert "- [ ] Alert when memory passes 80 % — eddie-editor (due 2026-12-15)" in text
    assert "Killed (exit 137)" in text and "Deployment of API v42" in text


def test_editor_can_start_and_viewer_cannot(client_for: Any) -> None:
    book = runbook()
    assert (
        client_for("viewer").post(reverse("maintenance:execution_start", kwargs={"slug": book.slug})).status_code == 403
    )
    assert RunbookExecution.objects.count() == 0
    client_for("editor").post(reverse("maintenance:execution_start", kwargs={"slug": book.slug}))
    ex = RunbookExecution.objects.get()
    assert ex.incident is None and ex.version == book.current and ex.steps.count() == 4
