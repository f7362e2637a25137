"""Ingesting dependency audits: findings opened, kept and resolved; alerts for new serious ones;
the portal's weekly audit of its own requirements.txt with pip-audit.

``ingest(raw, project=...)`` parses a report (``audit_formats``), writes a DependencyAudit and,
when the tool reached its advisory service, opens findings it lists for the first time (new
high, critical and unrated ones raise an alert), refreshes the ones still listed, and resolves
(with their alert) the open findings of the same project and tool it no longer lists.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.public import raise_alert, resolve_alert

from .audit_formats import AuditFormatError, ParsedAudit, parse
from .models import DependencyAudit, DependencyFinding
from .security_choices import ALERTING_SEVERITIES, AuditOrigin, AuditOutcome, FindingSeverity

log = logging.getLogger(__name__)
DEPENDENCY_RUNBOOK = "Dependency Security"
SELF_PROJECT = "ops-portal"


def _alert(finding: DependencyFinding) -> None:
    rated = finding.severity != FindingSeverity.UNKNOWN
    label = finding.get_severity_display().lower() if rated else "unrated (pip-audit gives no severity)"
    raise_alert(
        finding.alert_key,
        summary=(
            f"{finding.project}: {finding.package} {finding.version or finding.affected_range} has {label} "
            f"advisory {finding.advisory_id}" + (f"; fixed in {finding.fixed_version}" if finding.fixed_version else "")
        ),
        source="maintenance.dependencies",
        severity="critical" if finding.severity == FindingSeverity.CRITICAL else "warning",
        details={"finding_id": finding.pk, "tool": finding.tool, "url": finding.url},
        runbook=DEPENDENCY_RUNBOOK,
    )


def record(
    parsed: ParsedAudit, *, project: str, origin: str, user: Any = None, duration_ms: float | None = None
) -> DependencyAudit:
    """Store a parsed report and bring the project's findings in step with it."""
    complete = parsed.complete
    with transaction.atomic():
        audit = DependencyAudit.objects.create(
            project=project,
            tool=parsed.tool,
            origin=origin,
            outcome=AuditOutcome.COMPLETE if complete else AuditOutcome.UNREACHABLE,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            packages_audited=parsed.packages_audited,
            findings_count=len(parsed.findings),
            skipped=parsed.skipped[:200],
            error=parsed.error[:500],
            duration_ms=duration_ms,
        )
        if not complete:
            return audit  # an audit that reached nothing says nothing about what is fixed
        open_rows = {
            f"{f.package.lower()}|{f.advisory_id}": f
            for f in DependencyFinding.objects.select_for_update().filter(
                project=project, tool=parsed.tool, resolved_at__isnull=True
            )
        }
        new, listed = [], set()
        for item in parsed.findings:
            listed.add(item.key)
            row = open_rows.get(item.key)
            fields = {
                "version": item.version,
                "affected_range": item.affected_range,
                "aliases": list(item.aliases),
                "severity": item.severity,
                "fixed_version": item.fixed_version,
                "title": item.title,
                "url": item.url,
            }
            if row is None:
                row = DependencyFinding.objects.create(
                    project=project, tool=parsed.tool, package=item.package, advisory_id=item.advisory_id,
                    first_audit=audit, last_audit=audit, **fields,
                )  # fmt: skip
                open_rows[item.key] = row
                new.append(row)
            else:
                DependencyFinding.objects.filter(pk=row.pk).update(last_audit=audit, **fields)
        fixed = [row for key, row in open_rows.items() if key not in listed]
        now = timezone.now()
        for row in fixed:
            row.resolved_at, row.resolved_audit = now, audit
            row.save(update_fields=["resolved_at", "resolved_audit"])
        DependencyAudit.objects.filter(pk=audit.pk).update(new_count=len(new), fixed_count=len(fixed))
        audit.new_count, audit.fixed_count = len(new), len(fixed)

        def notify() -> None:
            for row in new:
                if row.severity in ALERTING_SEVERITIES:
                    _alert(row)
            for row in fixed:
                resolve_alert(row.alert_key, note=f"no longer listed by audit #{audit.pk}")

        transaction.on_commit(notify)
    return audit


def ingest(
    raw: bytes | str, *, project: str, origin: str, user: Any = None, tool: str | None = None
) -> DependencyAudit:
    """Parse and record a report; AuditFormatError (nothing stored) when it is not one."""
    project = (project or "").strip()
    if not project or len(project) > 100:
        raise AuditFormatError("project: give the project's name (1 to 100 characters), e.g. ops-portal")
    return record(parse(raw, tool), project=project, origin=origin, user=user)


# The portal's own weekly audit ----------------------------------------------------------


def pip_audit_command() -> list[str] | None:
    """pip-audit from this environment's bin folder (requirements-dev), or on PATH; None when absent."""
    local = Path(sys.executable).parent / "pip-audit"
    if local.exists():
        return [str(local)]
    found = shutil.which("pip-audit")
    return [found] if found else None


def self_audit(requirements: Path | None = None, *, timeout: int = 600) -> DependencyAudit | None:
    """Run pip-audit on the portal's requirements.txt; None when pip-audit is not installed.

    An unreachable advisory service is recorded as such ("unreachable", with pip-audit's last
    line of error), never as a clean audit.
    """
    cmd = pip_audit_command()
    if cmd is None:
        return None
    path = requirements or Path(settings.BASE_DIR) / "requirements.txt"
    args = [*cmd, "-r", str(path), "--format", "json", "--progress-spinner", "off", "--no-deps", "--disable-pip"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        parsed = ParsedAudit(tool="pip-audit", error=f"pip-audit did not finish within {timeout} s")
        return record(parsed, project=SELF_PROJECT, origin=AuditOrigin.SCHEDULE)
    took = (time.perf_counter() - started) * 1000
    try:
        parsed = parse(proc.stdout, "pip-audit")
    except AuditFormatError:
        # No JSON: pip-audit failed before auditing (typically: the service is unreachable).
        last = next((ln for ln in reversed(proc.stderr.strip().splitlines()) if ln.strip()), "no output")
        parsed = ParsedAudit(
            tool="pip-audit",
            error=f"pip-audit could not reach the advisory service (exit {proc.returncode}): {last}"[:500],
        )
    return record(parsed, project=SELF_PROJECT, origin=AuditOrigin.SCHEDULE, duration_ms=round(took, 1))


def evidence(**_: Any) -> dict[str, Any]:
    """Evidence provider "dependency_findings": open findings by severity and the latest audits."""
    open_rows = DependencyFinding.objects.filter(resolved_at__isnull=True)
    by_severity: dict[str, int] = {}
    for sev in open_rows.values_list("severity", flat=True):
        by_severity[sev] = by_severity.get(sev, 0) + 1
    latest = []
    seen: set[tuple[str, str]] = set()
    for audit in DependencyAudit.objects.order_by("-created_at")[:50]:
        if (audit.project, audit.tool) in seen:
            continue
        seen.add((audit.project, audit.tool))
        latest.append(
            {
                "project": audit.project,
                "tool": audit.tool,
                "at": audit.created_at.isoformat(),
                "outcome": audit.outcome,
                "findings": audit.findings_count,
                "error": audit.error,
            }
        )
    serious = sum(n for s, n in by_severity.items() if s in ALERTING_SEVERITIES)
    reached = bool(latest) and all(a["outcome"] == AuditOutcome.COMPLETE for a in latest)
    return {
        "ok": (serious == 0 and reached) if latest else None,
        "open": sum(by_severity.values()),
        "open_by_severity": by_severity,
        "latest_audits": latest,
        "summary": (
            f"{sum(by_severity.values())} open findings ({serious} high, critical or unrated); "
            f"{len(latest)} project audits"
            if latest
            else "no dependency audit yet"
        ),
    }
