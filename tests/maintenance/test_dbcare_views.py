"""Database care page and the VACUUM ANALYZE action: queued from the console, run by the task
once, recorded (state, timings, dead rows) and audited; the page's note when the extension is missing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from maintenance import vacuum
from maintenance.models import VacuumRun
from opsportal.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_portals_database_and_the_note_when_pg_stat_statements_is_missing(client_for: Any) -> None:
    response = client_for("admin").get(reverse("maintenance:database_care"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ops Portal&#x27;s own database" in body or "Ops Portal's own database" in body
    assert 'data-testid="pgss-note"' in body and "shared_preload_libraries" in body
    assert "opsportal_auditrecord" in body and 'data-testid="connections"' in body


def test_vacuum_analyze_of_one_table_is_queued_run_once_recorded_and_audited(
    client_for: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    queued: list[Any] = []
    from maintenance import tasks_security

    monkeypatch.setattr(tasks_security.vacuum_task, "apply_async", lambda args, task_id: queued.append((args, task_id)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("admin").post(
            reverse("maintenance:vacuum_run"), {"target": "portal", "table": "public.opsportal_jobrun"}
        )
    assert response.status_code == 302
    run = VacuumRun.objects.get()
    assert run.state == "queued" and run.requested_by == users["admin"] and queued == [([run.pk], run.task_id)]
    # The worker runs it (the task body, called as the worker would); a redelivery does nothing.
    assert tasks_security.vacuum_task.run(run.pk) == "succeeded"
    assert tasks_security.vacuum_task.run(run.pk) == "already claimed"
    run.refresh_from_db()
    assert run.state == "succeeded" and run.duration_ms is not None and run.dead_rows_before is not None
    assert run.started_at <= run.finished_at
    created = AuditRecord.objects.get(object_type="maintenance.vacuumrun", action="create")
    assert created.actor_name == "ada-admin"
    done = AuditRecord.objects.get(object_type="maintenance.vacuumrun", action="action")
    assert "VACUUM ANALYZE public.opsportal_jobrun" in done.summary and "succeeded" in done.summary
    page = client_for("admin").get(reverse("maintenance:database_care"))
    assert b"public.opsportal_jobrun" in page.content


def test_vacuum_of_all_tables_and_a_missing_table_fails_with_a_reason(users: dict[str, Any]) -> None:
    target = vacuum.target_named("portal")
    assert target is not None
    everything = vacuum.request_vacuum(target, "", users["admin"])
    missing = vacuum.request_vacuum(target, "public.no_such_table", users["admin"])
    assert vacuum.execute(everything.pk).state == "succeeded"
    failed = vacuum.execute(missing.pk)
    assert failed.state == "failed" and "no table" in failed.error
    assert AuditRecord.objects.filter(
        object_type="maintenance.vacuumrun", action="action", summary__contains="failed"
    ).exists()


def test_an_unknown_target_is_refused_and_editors_may_not_vacuum(client_for: Any) -> None:
    response = client_for("admin").post(reverse("maintenance:vacuum_run"), {"target": "nope", "table": ""}, follow=True)
    assert b"choose one of the databases" in response.content
    assert client_for("editor").post(reverse("maintenance:vacuum_run"), {"target": "portal"}).status_code == 403
    assert not VacuumRun.objects.exists()
