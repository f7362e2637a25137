"""Ticking and unticking checklist items: who and when, notes, evidence captured with the tick, audit, overdue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from maintenance.checklists import TickRefused, tick, untick
from maintenance.models import ChecklistPeriod, PeriodItem, TickEvent
from maintenance.periods import alert_key, mark_overdue, open_due_periods
from monitoring.models import Alert, AlertEvent, Service
from monitoring.public import register_evidence
from monitoring.services.choices import ServiceStatus
from opsportal.models import AuditRecord
from tests.maintenance.fixtures import daily_item, daily_period

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def test_editor_ticks_with_note_and_evidence(users: dict[str, Any], client_for: Any) -> None:
    Service.objects.create(name="API", slug="api", kind="http", url="http://127.0.0.1:9/", status=ServiceStatus.UP)
    Service.objects.create(name="Web", slug="web", kind="http", url="http://127.0.0.1:9/", status=ServiceStatus.DOWN)
    item = daily_item("Check service health dashboard")
    response = client_for("editor").post(
        reverse("maintenance:item_tick", kwargs={"pk": item.pk}), {"note": "Web is being redeployed"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.ticked_by == users["editor"] and item.ticked_by_name == "eddie-editor"
    assert item.note == "Web is being redeployed"
    assert item.evidence["down"] == ["Web"] and item.evidence["ok"] is False
    assert item.evidence_fresh and item.evidence_at == item.ticked_at
    event = TickEvent.objects.get(period_item=item)
    assert (event.action, event.actor, event.note) == ("tick", users["editor"], "Web is being redeployed")
    record = AuditRecord.objects.get(object_type="maintenance.perioditem", object_id=str(item.pk))
    assert record.actor_name == "eddie-editor" and "ticked" in record.summary and record.channel == "console"
    # The captured evidence stays as it was when ticked, whatever happens afterwards.
    Service.objects.filter(slug="web").update(status=ServiceStatus.UP)
    page = client_for("viewer").get(reverse("maintenance:period", kwargs={"pk": item.period_id})).content.decode()
    assert "1 up, 0 degraded, 1 down of 2" in page and "Web is being redeployed" in page


def test_second_tick_changes_nothing(users: dict[str, Any]) -> None:
    item = daily_item()
    tick(item, users["editor"], note="first")
    with pytest.raises(TickRefused):
        tick(item, users["admin"], note="second")
    item.refresh_from_db()
    assert item.note == "first" and item.ticked_by == users["editor"]
    assert TickEvent.objects.filter(period_item=item).count() == 1


def test_untick_is_kept_in_history_and_audited(users: dict[str, Any], client_for: Any) -> None:
    item = daily_item()
    tick(item, users["editor"], note="looked")
    response = client_for("admin").post(
        reverse("maintenance:item_untick", kwargs={"pk": item.pk}), {"note": "dashboard was stale"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.ticked_at is None and item.evidence is None
    assert list(
        TickEvent.objects.filter(period_item=item).order_by("at", "id").values_list("action", "actor_name")
    ) == [
        ("tick", "eddie-editor"),
        ("untick", "ada-admin"),
    ]
    untick_record = AuditRecord.objects.filter(object_id=str(item.pk), summary__startswith="unticked").get()
    assert untick_record.actor_name == "ada-admin" and "dashboard was stale" in untick_record.summary
    with pytest.raises(TickRefused):
        untick(item, users["admin"])


def test_viewer_cannot_tick_or_untick(users: dict[str, Any], client_for: Any) -> None:
    item = daily_item()
    tick(item, users["editor"])
    viewer = client_for("viewer")
    assert viewer.post(reverse("maintenance:item_untick", kwargs={"pk": item.pk})).status_code == 403
    other = daily_item("Monitor error rates")
    assert viewer.post(reverse("maintenance:item_tick", kwargs={"pk": other.pk})).status_code == 403
    other.refresh_from_db()
    assert other.ticked_at is None
    page = viewer.get(reverse("maintenance:checklists")).content.decode()
    assert "ticked by <strong>eddie-editor</strong>" in page
    assert reverse("maintenance:item_untick", kwargs={"pk": item.pk}) not in page


def test_tick_without_a_provider_is_shown_as_not_fresh(users: dict[str, Any], client_for: Any) -> None:
    item = daily_item("Review backup completion")
    PeriodItem.objects.filter(pk=item.pk).update(evidence_name="provided_by_nobody_yet")
    item.refresh_from_db()
    tick(item, users["editor"], note="checked by hand")
    item.refresh_from_db()
    assert item.evidence["summary"] == "not available yet" and not item.evidence_fresh
    page = client_for("viewer").get(reverse("maintenance:checklists")).content.decode()
    assert "not fresh" in page and "checked by hand" in page


def test_dependency_findings_come_from_maintenance_ii(users: dict[str, Any]) -> None:
    open_due_periods()
    item = PeriodItem.objects.get(text="Update dependencies (non-critical)", period__checklist__cadence="weekly")
    tick(item, users["editor"])
    item.refresh_from_db()
    assert item.evidence is not None and not item.evidence.get("missing")
    assert not item.evidence_fresh  # no audit has run in this test


def test_a_failing_provider_does_not_break_the_tick(users: dict[str, Any]) -> None:
    def broken(**_: Any) -> dict[str, Any]:
        raise RuntimeError("postgres://user:secret@db/x unreachable")

    register_evidence("error_rate", broken)
    try:
        item = daily_item("Monitor error rates")
        tick(item, users["editor"])
        item.refresh_from_db()
        assert item.is_ticked and not item.evidence_fresh
        assert "secret" not in str(item.evidence)
    finally:
        from monitoring.evidence import error_rate

        register_evidence("error_rate", error_rate)


def test_long_note_is_refused(users: dict[str, Any], client_for: Any) -> None:
    item = daily_item()
    client_for("editor").post(reverse("maintenance:item_tick", kwargs={"pk": item.pk}), {"note": "x" * 2001})
    item.refresh_from_db()
    assert item.ticked_at is None


def test_overdue_period_raises_one_warning_naming_open_items(users: dict[str, Any]) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        period = daily_period()
        tick(period.items.get(text="Check service health dashboard"), users["editor"])
    with time_machine.travel(dt.datetime(2026, 12, 2, 0, 1, tzinfo=UTC), tick=False):
        assert [p.key for p in mark_overdue()] == ["2026-12-01"]
        assert mark_overdue() == []  # once
    alert = Alert.objects.get(dedup_key=alert_key(period.checklist))
    assert alert.severity == "warning" and alert.state == "firing" and alert.source == "maintenance"
    assert "Monitor error rates" in alert.summary and "Review backup completion" in alert.summary
    assert "Check service health dashboard" not in alert.summary
    assert AlertEvent.objects.filter(alert=alert, kind="fired").count() == 1  # notifications go out from this row
    # Ticking the rest late resolves it.
    with time_machine.travel(dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC), tick=False):
        for item in period.items.filter(ticked_at__isnull=True):
            tick(item, users["editor"], note="late")
    alert.refresh_from_db()
    assert alert.state == "resolved"
    period.refresh_from_db()
    assert period.completed_at is not None


def test_complete_period_raises_nothing(users: dict[str, Any]) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        period = daily_period()
        for item in period.items.all():
            tick(item, users["editor"])
    with time_machine.travel(dt.datetime(2026, 12, 2, 0, 1, tzinfo=UTC), tick=False):
        assert mark_overdue() == []
    assert not Alert.objects.filter(source="maintenance").exists()


def test_template_edit_leaves_past_and_open_periods_alone(users: dict[str, Any], client_for: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        period = daily_period()
    admin = client_for("admin")
    url = reverse("maintenance:checklist_edit", kwargs={"cadence": "daily"})
    retired = period.checklist.items.get(text="Review backup completion")
    admin.post(url, {"action": "add", "text": "Check disk space"})
    admin.post(url, {"action": "retire", "item": retired.pk})
    first = period.checklist.items.get(text="Monitor error rates")
    admin.post(url, {"action": "up", "item": first.pk})
    assert [i.text for i in period.items.all()] == [
        "Check service health dashboard",
        "Monitor error rates",
        "Review backup completion",
    ]
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC), tick=False):
        open_due_periods()
    nxt = ChecklistPeriod.objects.get(checklist__cadence="daily", key="2026-12-02")
    assert [i.text for i in nxt.items.all()] == [
        "Monitor error rates",
        "Check service health dashboard",
        "Check disk space",
    ]
    assert AuditRecord.objects.filter(object_type="maintenance.checklistitem", actor_name="ada-admin").count() >= 3
    assert client_for("editor").post(url, {"action": "add", "text": "nope"}).status_code == 403


def test_history_page_draws_completion(users: dict[str, Any], client_for: Any) -> None:
    for day in (1, 2, 3):
        with time_machine.travel(dt.datetime(2026, 12, day, 9, 0, tzinfo=UTC), tick=False):
            period = daily_period()
            for item in period.items.all()[: day - 1]:
                tick(item, users["editor"])
    with time_machine.travel(dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False):
        page = client_for("viewer").get(reverse("maintenance:checklist_history")).content.decode()
    assert page.count("<svg") >= 4
    assert "2026-12-02: 1 of 3 ticked" in page and "2026-12-03: 2 of 3 ticked" in page
    assert "eddie-editor" in page
