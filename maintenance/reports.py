"""The monthly report: the month's figures against the runbook's targets, for print, CSV and email.

Figures from other apps come through named providers (``monitoring.public.evidence``):
"service_report" and "alert_report" (monitoring), "backup_report" (backups). Everything the
maintenance app owns (incidents, post-mortems, checklist periods, secrets, findings) is read
directly. The error budget is the runbook's 99.9 % uptime target: 0.1 % of the month may be
down; "budget left" is the share of that allowance not used (negative when overspent).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from monitoring.public import evidence

from .models import ChecklistPeriod, DependencyAudit, DependencyFinding, Incident, PeriodItem, Secret
from .security_choices import DueState, FindingSeverity

UPTIME_TARGET = 0.999
P95_TARGET_MS = 500.0


@dataclass
class ServiceLine:
    slug: str
    name: str
    uptime: float | None
    p95_ms: float | None
    checks: int = 0

    @property
    def budget_left(self) -> float | None:
        """Share of the month's 0.1 % downtime allowance not used (1.0 untouched, < 0 overspent)."""
        if self.uptime is None:
            return None
        return 1 - (1 - self.uptime) / (1 - UPTIME_TARGET)

    @property
    def uptime_pct(self) -> str:
        return "" if self.uptime is None else f"{self.uptime * 100:.3f} %"

    @property
    def budget_left_pct(self) -> str:
        return "" if self.budget_left is None else f"{self.budget_left * 100:.1f} %"

    @property
    def uptime_ok(self) -> bool | None:
        return None if self.uptime is None else self.uptime >= UPTIME_TARGET

    @property
    def p95_ok(self) -> bool | None:
        return None if self.p95_ms is None else self.p95_ms < P95_TARGET_MS


@dataclass
class MonthlyReport:
    month: str  # "2026-11"
    start: dt.datetime
    end: dt.datetime
    generated_at: dt.datetime
    services: list[ServiceLine] = field(default_factory=list)
    services_note: str = ""
    alerts: dict[str, Any] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    backups: dict[str, Any] = field(default_factory=dict)
    checklists: list[dict[str, Any]] = field(default_factory=list)
    secrets_due: list[dict[str, Any]] = field(default_factory=list)
    findings_open: dict[str, int] = field(default_factory=dict)
    findings_total: int = 0
    last_audit_at: dt.datetime | None = None  # the last dependency audit before the month's end

    @property
    def findings_open_labels(self) -> list[tuple[str, int]]:
        return [(FindingSeverity(s).label.lower(), n) for s, n in self.findings_open.items()]

    @property
    def postmortems(self) -> int:
        return sum(1 for i in self.incidents if i["postmortem"])


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a "YYYY-MM" month in TIME_ZONE; ValueError when malformed."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        first = dt.date(year, mon, 1)
    except (ValueError, TypeError):
        raise ValueError("month: expected YYYY-MM, e.g. 2026-11") from None
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return dt.datetime.combine(first, dt.time(), zone), dt.datetime.combine(nxt, dt.time(), zone)


def previous_month(now: dt.datetime | None = None) -> str:
    local = timezone.localtime(now or timezone.now())
    first = local.date().replace(day=1)
    last = first - dt.timedelta(days=1)
    return f"{last:%Y-%m}"


def build(month: str, now: dt.datetime | None = None) -> MonthlyReport:
    start, end = month_bounds(month)
    now = now or timezone.now()
    report = MonthlyReport(month=month, start=start, end=end, generated_at=now)
    services = evidence("service_report", start=start, end=end)
    if services is None:
        report.services_note = "monitoring offers no service report provider in this version"
    elif services.get("error"):
        report.services_note = services["error"]
    else:
        report.services = [
            ServiceLine(s["slug"], s["name"], s.get("uptime"), s.get("p95_ms"), s.get("checks", 0))
            for s in services.get("services", [])
        ]
        report.services_note = services.get("note", "")
    report.alerts = dict(
        evidence("alert_report", start=start, end=end) or {"note": "monitoring offers no alert report provider"}
    )
    for key in ("mtta", "mttr"):
        report.alerts[f"{key}_display"] = _duration(report.alerts.get(f"{key}_seconds"))
    report.backups = dict(
        evidence("backup_report", start=start, end=end) or {"note": "backups offers no backup report provider"}
    )
    rate = report.backups.get("success_rate")
    report.backups["success_rate_pct"] = "" if rate is None else f"{rate * 100:.1f} %"
    report.incidents = _incidents(start, end)
    report.checklists = _checklists(start, end, now)
    report.secrets_due = _secrets_due(end)
    open_findings = DependencyFinding.objects.filter(first_seen_at__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
    )
    by_sev = dict(open_findings.values_list("severity").annotate(n=Count("id")).values_list("severity", "n"))
    report.findings_open = by_sev
    report.findings_total = sum(by_sev.values())
    # "0 open" means clean only if something was audited by then.
    report.last_audit_at = (
        DependencyAudit.objects.filter(created_at__lt=end)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return report


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _incidents(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    rows = (
        Incident.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .select_related("postmortem")
        .order_by("opened_at")
    )
    out = []
    for inc in rows:
        pm = getattr(inc, "postmortem", None) if hasattr(inc, "postmortem") else None
        out.append(
            {
                "id": inc.pk,
                "title": inc.title,
                "opened_at": inc.opened_at,
                "closed_at": inc.closed_at,
                "state": inc.state,
                "severity": inc.alert_severity,
                "postmortem": pm is not None,
            }
        )
    return out


def _checklists(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
    """Each cadence's periods that start in the month, with their items ticked. A period still
    running when the report is made (the ISO week that starts on the month's last days, due the
    next month) counts as ``open``, so its unticked items do not read as missed."""
    periods = ChecklistPeriod.objects.filter(starts_at__gte=start, starts_at__lt=end).select_related("checklist")
    by_cadence: dict[str, dict[str, Any]] = {}
    counts = (
        PeriodItem.objects.filter(period__in=periods)
        .values("period__checklist__cadence", "period__checklist__name")
        .annotate(total=Count("id"), ticked=Count("id", filter=Q(ticked_at__isnull=False)))
    )
    for row in counts:
        by_cadence[row["period__checklist__cadence"]] = {
            "cadence": row["period__checklist__cadence"],
            "name": row["period__checklist__name"],
            "items": row["total"],
            "ticked": row["ticked"],
            "rate": row["ticked"] / row["total"] if row["total"] else None,
        }
    for period in periods:
        line = by_cadence.setdefault(
            period.checklist.cadence,
            {"cadence": period.checklist.cadence, "name": period.checklist.name, "items": 0, "ticked": 0, "rate": None},
        )
        line["periods"] = line.get("periods", 0) + 1
        line["completed"] = line.get("completed", 0) + (1 if period.completed_at else 0)
        line["open"] = line.get("open", 0) + (1 if not period.completed_at and period.ends_at > now else 0)
    order = ["daily", "weekly", "monthly", "quarterly"]
    return sorted(by_cadence.values(), key=lambda r: order.index(r["cadence"]) if r["cadence"] in order else 9)


def _secrets_due(end: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for secret in Secret.objects.filter(retired_at__isnull=True):
        state = secret.due_state(end)
        if state != DueState.OK:
            out.append(
                {
                    "name": secret.name,
                    "kind": secret.get_kind_display(),
                    "due_at": secret.due_at,
                    "state": state,
                    "state_label": DueState(state).label.lower(),
                }
            )
    return sorted(out, key=lambda r: r["due_at"])


def _pct(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value * 100:.{digits}f}"


def to_csv(report: MonthlyReport) -> str:
    """The report as CSV: one section per part, a header row each."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Ops Portal monthly report", report.month])
    w.writerow([])
    w.writerow(["service", "uptime %", "target %", "error budget left %", "p95 ms", "p95 target ms", "checks"])
    for s in report.services:
        w.writerow(
            [
                s.name,
                _pct(s.uptime),
                "99.900",
                _pct(s.budget_left, 1),
                "" if s.p95_ms is None else f"{s.p95_ms:.0f}",
                "500",
                s.checks,
            ]
        )
    w.writerow([])
    a = report.alerts
    w.writerow(["alerts", "critical", "warning", "MTTA seconds", "MTTR seconds"])
    w.writerow(
        [
            a.get("alerts", ""),
            a.get("critical", ""),
            a.get("warning", ""),
            a.get("mtta_seconds", ""),
            a.get("mttr_seconds", ""),
        ]
    )
    w.writerow([])
    w.writerow(["incident", "opened", "closed", "state", "post-mortem"])
    for i in report.incidents:
        w.writerow(
            [
                i["title"],
                i["opened_at"].isoformat(),
                i["closed_at"].isoformat() if i["closed_at"] else "",
                i["state"],
                "yes" if i["postmortem"] else "no",
            ]
        )
    w.writerow([])
    b = report.backups
    drill = b.get("last_drill") or {}
    w.writerow(["backup runs", "good", "success rate %", "last drill", "last drill result"])
    w.writerow(
        [
            b.get("runs", ""),
            b.get("good", ""),
            _pct(b.get("success_rate"), 1),
            drill.get("at", ""),
            drill.get("result", ""),
        ]
    )
    w.writerow([])
    w.writerow(["checklist", "periods", "completed periods", "items", "ticked", "completion %", "still open"])
    for c in report.checklists:
        w.writerow([
            c["name"], c.get("periods", 0), c.get("completed", 0), c["items"], c["ticked"], _pct(c["rate"], 1),
            c.get("open", 0),
        ])  # fmt: skip
    w.writerow([])
    w.writerow(["secret due", "kind", "due", "state"])
    for s in report.secrets_due:
        w.writerow([s["name"], s["kind"], s["due_at"].isoformat(), s["state"]])
    w.writerow([])
    w.writerow(["open findings", *report.findings_open.keys(), "total"])
    w.writerow(["", *report.findings_open.values(), report.findings_total])
    return buf.getvalue()


def to_json(report: MonthlyReport) -> dict[str, Any]:
    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.datetime) else value

    return {
        "month": report.month,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "targets": {"uptime": UPTIME_TARGET, "p95_ms": P95_TARGET_MS},
        "services": [
            {
                "slug": s.slug,
                "name": s.name,
                "uptime": s.uptime,
                "error_budget_left": s.budget_left,
                "p95_ms": s.p95_ms,
                "checks": s.checks,
            }
            for s in report.services
        ],
        "services_note": report.services_note,
        "alerts": report.alerts,
        "incidents": [{k: iso(v) for k, v in i.items()} for i in report.incidents],
        "postmortems": report.postmortems,
        "backups": report.backups,
        "checklists": report.checklists,
        "secrets_due": [{k: iso(v) for k, v in s.items()} for s in report.secrets_due],
        "findings_open": report.findings_open,
        "findings_total": report.findings_total,
        "last_audit_at": iso(report.last_audit_at),
    }


def email(report: MonthlyReport, recipients: list[str]) -> int:
    """Send the report (plain text with the CSV attached as text) to ``recipients``."""
    if not recipients:
        return 0
    body = render_to_string("maintenance/report_email.txt", {"r": report, "site_url": settings.SITE_URL})

    message = EmailMessage(
        subject=f"Ops Portal monthly report {report.month}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(f"ops-portal-report-{report.month}.csv", to_csv(report), "text/csv")
    return message.send()


__all__ = ["MonthlyReport", "ServiceLine", "build", "email", "month_bounds", "previous_month", "to_csv"]
