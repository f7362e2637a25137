"""Celery tasks of the security half of maintenance (thin: the work is in domain modules)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from opsportal.jobs import record_job

from . import conf


@shared_task(name="maintenance.check_secrets", ignore_result=True)
def check_secrets() -> dict[str, int]:
    """Daily: list the portal's own secrets, alert on due-soon (14 days) and overdue ones."""
    from .secrets_registry import check_all

    with record_job("security: secret rotation") as job:
        job.stats = check_all()
        job.summary = ", ".join(f"{n} {state}" for state, n in sorted(job.stats.items())) or "no secrets"
    return job.stats


@shared_task(name="maintenance.self_audit", ignore_result=True)
def self_audit() -> dict[str, Any]:
    """Weekly: pip-audit the portal's own requirements.txt (when pip-audit is installed)."""
    from . import dependency_audits

    with record_job("security: pip-audit of the portal") as job:
        audit = dependency_audits.self_audit()
        if audit is None:
            job.summary = "pip-audit is not installed (it is in requirements-dev.txt): nothing audited"
            job.stats = {"installed": False}
        else:
            job.stats = {
                "audit": audit.pk,
                "outcome": audit.outcome,
                "findings": audit.findings_count,
                "new": audit.new_count,
            }
            job.summary = (
                audit.error or f"{audit.findings_count} findings ({audit.new_count} new, {audit.fixed_count} fixed)"
            )
            if audit.error:
                raise RuntimeError(audit.error)  # the job row shows FAILED: the service was not reached
    return job.stats


@shared_task(name="maintenance.vacuum", ignore_result=True, acks_late=True)
def vacuum_task(run_id: int) -> str:
    from . import vacuum

    run = vacuum.execute(run_id)
    return run.state if run else "already claimed"


@shared_task(name="maintenance.monthly_report_email", ignore_result=True)
def monthly_report_email() -> int:
    """On the 1st: email last month's report to MONTHLY_REPORT_EMAILS (nothing when empty)."""
    from . import reports

    recipients = conf.MONTHLY_REPORT_EMAILS.get()
    with record_job("reports: monthly email") as job:
        if not recipients:
            job.summary = "MONTHLY_REPORT_EMAILS is empty: not sent"
            return 0
        report = reports.build(reports.previous_month())
        sent = reports.email(report, recipients)
        job.stats = {"month": report.month, "recipients": len(recipients)}
        job.summary = f"report {report.month} sent to {len(recipients)} recipients"
    return sent
