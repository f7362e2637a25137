"""Start-up wiring of the security half of maintenance, called from MaintenanceConfig.ready():
audit registrations, the "dependency_findings" evidence provider and default beat entries."""

from __future__ import annotations


def ready() -> None:
    from monitoring.public import register_evidence
    from opsportal import audit
    from opsportal.schedule import DefaultEntry, declare

    from . import dependency_audits, tasks_security  # noqa: F401 - registers the Celery tasks
    from .models import DependencyAudit, Rotation, RotationStep, Secret, VacuumRun

    audit.register(Secret, exclude={"observed_hash"})
    audit.register(Rotation)
    audit.register(RotationStep)
    audit.register(DependencyAudit)
    audit.register(
        VacuumRun, exclude={"state", "started_at", "finished_at", "duration_ms", "dead_rows_before", "error"}
    )
    register_evidence("dependency_findings", dependency_audits.evidence)
    declare(
        DefaultEntry(
            "security: check secret rotation",
            "maintenance.check_secrets",
            crontab="15 6 * * *",
            description="Lists the portal's own secrets; alerts on secrets due within 14 days or overdue.",
        )
    )
    declare(
        DefaultEntry(
            "security: pip-audit of the portal",
            "maintenance.self_audit",
            crontab="30 6 * * 1",
            description="Weekly pip-audit of requirements.txt (pip-audit from requirements-dev); unreachable service fails the job.",
        )
    )
    declare(
        DefaultEntry(
            "reports: monthly email",
            "maintenance.monthly_report_email",
            crontab="0 7 1 * *",
            description="Emails last month's report to MONTHLY_REPORT_EMAILS (nothing when empty).",
        )
    )
