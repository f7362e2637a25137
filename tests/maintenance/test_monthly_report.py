"""The monthly report against a seeded October 2026, every figure computed by hand; CSV and email."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from backups.models import BackupRun, Destination, Policy, RestoreDrill, Source
from maintenance import reports
from maintenance.models import (
    Checklist,
    ChecklistItem,
    ChecklistPeriod,
    DependencyAudit,
    DependencyFinding,
    Incident,
    PeriodItem,
    PostMortem,
    Secret,
)  # fmt: skip
from monitoring.models import Alert
from monitoring.services.choices import Resolution
from monitoring.services.rollups import Bucket
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(day: int, hour: int = 12, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


def _rollup(service: Any, start: dt.datetime, ok_latencies: list[float], failures: int) -> None:
    bucket = Bucket()
    for ms in ok_latencies:
        bucket.add_result(True, False, ms)
    for _ in range(failures):
        bucket.add_result(False, False, None)
    bucket.to_row(service.pk, Resolution.HOUR, start).save()


@pytest.fixture
def october(tmp_path: Path, users: dict[str, Any]) -> None:
    api, web = ServiceFactory(slug="api"), ServiceFactory(slug="web")
    # api: 3,000 probes in October, 1 failed; 90 % at 100 ms and 10 % at 800 ms -> p95 about 800 ms.
    _rollup(api, at(3), [100.0] * 900 + [800.0] * 99, 1)
    _rollup(api, at(10), [100.0] * 900 + [800.0] * 100, 0)
    _rollup(api, at(20), [100.0] * 900 + [800.0] * 100, 0)
    # web: 2,000 probes, 4 failed, all at 200 ms.
    _rollup(web, at(5), [200.0] * 998, 2)
    _rollup(web, at(25), [200.0] * 998, 2)
    # Outside the month: ignored.
    _rollup(api, dt.datetime(2026, 9, 30, 23, tzinfo=UTC), [], 50)
    _rollup(web, dt.datetime(2026, 11, 1, 0, tzinfo=UTC), [], 50)

    # Alerts: acknowledged after 60 s and 120 s (MTTA 90 s), resolved after 600 s and 1,200 s (MTTR 900 s).
    Alert.objects.create(dedup_key="a1", source="t", severity="critical", summary="a1", state="resolved",
                         started_at=at(2), acknowledged_at=at(2) + dt.timedelta(seconds=60),
                         resolved_at=at(2) + dt.timedelta(seconds=600))  # fmt: skip
    Alert.objects.create(dedup_key="a2", source="t", severity="warning", summary="a2", state="resolved",
                         started_at=at(9), acknowledged_at=at(9) + dt.timedelta(seconds=120),
                         resolved_at=at(9) + dt.timedelta(seconds=1200))  # fmt: skip
    Alert.objects.create(dedup_key="a3", source="t", severity="warning", summary="a3", started_at=at(30))
    Alert.objects.create(
        dedup_key="a4", source="t", severity="critical", summary="next month", started_at=at(2, month=11)
    )

    # Backups: 4 good + 1 pruned (was good) + 1 failed in October -> 5 of 6; drills passed 5th, failed 20th.
    folder = tmp_path / "dest"
    folder.mkdir()
    source = Source.objects.create(name="Shop DB", slug="shop", kind="postgres", url_env="M2_SHOP_URL")
    dest = Destination.objects.create(name="Local", slug="local", kind="local", path=str(folder))
    policy = Policy.objects.create(name="Nightly", slug="nightly", source=source, destination=dest)
    for day, state in ((1, "good"), (2, "good"), (3, "good"), (4, "good"), (5, "pruned"), (6, "failed")):
        BackupRun.objects.create(
            policy=policy, destination=dest, source_kind="postgres", state=state, created_at=at(day)
        )
    BackupRun.objects.create(
        policy=policy, destination=dest, source_kind="postgres", state="failed", created_at=at(1, month=11)
    )
    RestoreDrill.objects.create(policy=policy, state="passed", created_at=at(5), finished_at=at(5, 13))
    RestoreDrill.objects.create(
        policy=policy, state="failed", created_at=at(20), finished_at=at(20, 13), error="row counts differ"
    )
    RestoreDrill.objects.create(
        policy=policy, state="passed", created_at=at(3, month=11), finished_at=at(3, 13, month=11)
    )

    # Incidents: two in October, one with a post-mortem.
    one = Incident.objects.create(title="API down", opened_at=at(2), closed_at=at(2, 14), state="closed")
    PostMortem.objects.create(incident=one, summary="bad deploy")
    Incident.objects.create(title="Slow search", opened_at=at(15))
    Incident.objects.create(title="Later", opened_at=at(2, month=11))

    # Checklists: daily 2 periods x 3 items, 4 ticked (1 period complete); weekly 1 period, 3 of 3.
    def checklist(cadence: str, name: str) -> tuple[Checklist, list[ChecklistItem]]:
        c, _ = Checklist.objects.get_or_create(cadence=cadence, defaults={"name": name})
        items = [ChecklistItem.objects.create(checklist=c, text=f"{name} item {i}", position=i) for i in range(3)]
        return c, items

    daily, daily_items = checklist("daily", "Daily")
    weekly, weekly_items = checklist("weekly", "Weekly")
    for day, ticked, done in ((6, 3, True), (7, 1, False)):
        period = ChecklistPeriod.objects.create(checklist=daily, key=f"2026-10-{day:02d}", starts_at=at(day, 0),
                                                ends_at=at(day + 1, 0), completed_at=at(day, 18) if done else None)  # fmt: skip
        for i, item in enumerate(daily_items):
            PeriodItem.objects.create(period=period, item=item, text=item.text, position=i,
                                      ticked_at=at(day, 9) if i < ticked else None)  # fmt: skip
    week = ChecklistPeriod.objects.create(
        checklist=weekly, key="2026-W41", starts_at=at(5, 0), ends_at=at(12, 0), completed_at=at(9)
    )
    for i, item in enumerate(weekly_items):
        PeriodItem.objects.create(period=week, item=item, text=item.text, position=i, ticked_at=at(8))

    # Secrets at the end of October: one due in 12 days, one overdue, one fine.
    Secret.objects.create(name="Due soon", last_rotated_at=dt.datetime(2026, 8, 15, tzinfo=UTC))
    Secret.objects.create(name="Overdue", last_rotated_at=dt.datetime(2026, 7, 1, tzinfo=UTC))
    Secret.objects.create(name="Fine", last_rotated_at=at(1))

    # Findings open at the end of October: the open one and the one fixed in November (2).
    audit = DependencyAudit.objects.create(
        project="p", tool="pip-audit", origin="api", outcome="complete", created_at=at(1)
    )
    for adv, resolved in (("A-1", None), ("A-2", at(20)), ("A-3", at(5, month=11))):
        DependencyFinding.objects.create(project="p", tool="pip-audit", package="x", advisory_id=adv, severity="unknown",
                                         first_audit=audit, last_audit=audit, first_seen_at=at(1), resolved_at=resolved)  # fmt: skip


def test_every_figure_matches_the_hand_computed_value(october: None, settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    r = reports.build("2026-10")
    services = {s.slug: s for s in r.services}
    assert services["api"].checks == 3000 and services["web"].checks == 2000
    assert services["api"].uptime == pytest.approx(2999 / 3000)
    assert services["api"].budget_left == pytest.approx(1 - (1 / 3000) / 0.001)  # 0.6667
    assert services["api"].uptime_ok is True
    assert services["web"].uptime == pytest.approx(0.998) and services["web"].uptime_ok is False
    assert services["web"].budget_left == pytest.approx(-1.0)  # twice the allowance used
    # p95 exact to one histogram bucket (~9 %): 800 ms and 200 ms.
    assert 800 / 1.09 < services["api"].p95_ms < 800 * 1.09 and services["api"].p95_ok is False
    assert 200 / 1.09 < services["web"].p95_ms < 200 * 1.09 and services["web"].p95_ok is True
    assert (r.alerts["alerts"], r.alerts["critical"], r.alerts["warning"]) == (3, 1, 2)
    assert r.alerts["mtta_seconds"] == pytest.approx(90) and r.alerts["mttr_seconds"] == pytest.approx(900)
    assert (r.backups["runs"], r.backups["good"], r.backups["failed"]) == (6, 5, 1)
    assert r.backups["success_rate"] == pytest.approx(5 / 6)
    assert r.backups["last_drill"]["result"] == "failed" and r.backups["last_drill"]["at"].startswith("2026-10-20")
    assert [i["title"] for i in r.incidents] == ["API down", "Slow search"] and r.postmortems == 1
    lines = {c["cadence"]: c for c in r.checklists}
    assert (
        lines["daily"]["periods"],
        lines["daily"]["completed"],
        lines["daily"]["items"],
        lines["daily"]["ticked"],
    ) == (2, 1, 6, 4)
    assert lines["daily"]["rate"] == pytest.approx(4 / 6) and lines["weekly"]["rate"] == 1.0
    assert {s["name"]: s["state"] for s in r.secrets_due} == {"Due soon": "due_soon", "Overdue": "overdue"}
    assert r.findings_total == 2 and r.findings_open == {"unknown": 2}


def test_page_csv_and_json_show_the_same_figures(october: None, client_for: Any, token_for: Any) -> None:
    page = client_for("viewer").get(reverse("maintenance:report_month", kwargs={"month": "2026-10"}))
    body = page.content.decode()
    assert page.status_code == 200 and "October 2026" in body
    assert "99.967 %" in body and "66.7 %" in body and "-100.0 %" in body  # api uptime, api budget, web budget
    assert "1.5 min" in body and "15.0 min" in body  # MTTA 90 s, MTTR 900 s
    assert "5 good of 6" in body and "83.3 %" in body
    assert "Overdue (Registered by hand): overdue, due 2026-09-29" in body
    assert "Due soon (Registered by hand): due soon, due 2026-11-13" in body
    assert "2 open at the end of the month: not rated 2 (last audit 2026-10-01)." in body
    rows = list(
        csv.reader(
            io.StringIO(
                client_for("viewer")
                .get(reverse("maintenance:report_csv", kwargs={"month": "2026-10"}))
                .content.decode()
            )
        )
    )
    api_row = next(r for r in rows if r and r[0] == "Api")
    assert api_row[1] == "99.967" and api_row[3] == "66.7" and api_row[6] == "3000"
    data = (
        client_for("viewer")
        .get(reverse("maintenance_api:report", kwargs={"month": "2026-10"}), HTTP_AUTHORIZATION="")
        .json()
    )
    assert data["findings_total"] == 2 and data["backups"]["good"] == 5
    bad = client_for("viewer").get("/api/v1/reports/2026-13")
    assert bad.status_code == 400 and bad.json()["field"] == "month"


def test_the_email_goes_to_the_configured_list_on_the_first(october: None, settings: Any, time_machine: Any) -> None:
    from maintenance.tasks_security import monthly_report_email

    time_machine.move_to(dt.datetime(2026, 11, 1, 7, tzinfo=UTC))
    settings.MONTHLY_REPORT_EMAILS = []
    assert monthly_report_email.run() == 0 and not mail.outbox
    settings.MONTHLY_REPORT_EMAILS = ["ops@example.com", "cto@example.com"]
    assert monthly_report_email.run() == 1
    message = mail.outbox[0]
    assert (
        message.to == ["ops@example.com", "cto@example.com"] and message.subject == "Ops Portal monthly report 2026-10"
    )
    assert "Api: uptime 99.967 %" in message.body
    assert message.attachments[0][0] == "ops-portal-report-2026-10.csv"


def test_a_week_that_starts_on_the_months_last_day_is_still_open_not_missed(
    october: None, client_for: Any, settings: Any, time_machine: Any
) -> None:
    """2026-W44 starts Monday 26 October and is due 2 November: in October's report, made on
    1 November, its unticked items are not yet late."""
    settings.TIME_ZONE = "UTC"
    weekly = Checklist.objects.get(cadence="weekly")
    open_week = ChecklistPeriod.objects.create(
        checklist=weekly, key="2026-W44", starts_at=at(26, 0), ends_at=at(2, 0, month=11)
    )
    for i, item in enumerate(weekly.items.all()):
        PeriodItem.objects.create(period=open_week, item=item, text=item.text, position=i)
    lines = {c["cadence"]: c for c in reports.build("2026-10", now=dt.datetime(2026, 11, 1, 7, tzinfo=UTC)).checklists}
    assert (lines["weekly"]["periods"], lines["weekly"]["completed"], lines["weekly"]["open"]) == (2, 1, 1)
    assert lines["daily"]["open"] == 0  # October's days are all past: the unfinished one was missed
    after = {c["cadence"]: c for c in reports.build("2026-10", now=dt.datetime(2026, 11, 3, tzinfo=UTC)).checklists}
    assert after["weekly"]["open"] == 0  # past its due time it counts as missed
    time_machine.move_to(dt.datetime(2026, 11, 1, 7, tzinfo=UTC))
    page = client_for("viewer").get(reverse("maintenance:report_month", kwargs={"month": "2026-10"})).content.decode()
    assert '<td>1 <span class="muted small">(1 still open, not yet due)</span></td>' in page
    csv_text = client_for("viewer").get(reverse("maintenance:report_csv", kwargs={"month": "2026-10"})).content.decode()
    assert "checklist,periods,completed periods,items,ticked,completion %,still open" in csv_text


def test_findings_read_unknown_when_nothing_was_audited_by_the_months_end(db: Any, client_for: Any) -> None:
    """ "0 open" in a month no audit looked at read as clean."""
    page = client_for("viewer").get(reverse("maintenance:report_month", kwargs={"month": "2026-10"})).content.decode()
    assert "No dependency audit by the end of the month: nothing is known to be clean." in page
    assert "open at the end of the month" not in page
    data = client_for("viewer").get(reverse("maintenance_api:report", kwargs={"month": "2026-10"})).json()
    assert data["last_audit_at"] is None and data["findings_total"] == 0
    DependencyAudit.objects.create(project="p", tool="pip-audit", origin="api", outcome="complete", created_at=at(3))
    page = client_for("viewer").get(reverse("maintenance:report_month", kwargs={"month": "2026-10"})).content.decode()
    assert "0 open at the end of the month (last audit 2026-10-03)." in page
    data = client_for("viewer").get(reverse("maintenance_api:report", kwargs={"month": "2026-10"})).json()
    assert data["last_audit_at"].startswith("2026-10-03")
