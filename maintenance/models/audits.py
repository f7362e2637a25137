"""Dependency audits (pip-audit, npm audit reports) and the findings they list."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..security_choices import AuditOrigin, AuditOutcome, AuditTool, FindingSeverity


class DependencyAudit(models.Model):
    """One report ingested for a project: uploaded, posted to the API, or the weekly self-audit.

    ``outcome`` says whether the tool reached its advisory service: an unreachable audit lists
    nothing and resolves nothing (it is not a clean result).
    """

    project = models.CharField(max_length=100, db_index=True, help_text="e.g. ops-portal, frontend")
    tool = models.CharField(max_length=10, choices=AuditTool.choices)
    origin = models.CharField(max_length=10, choices=AuditOrigin.choices)
    outcome = models.CharField(max_length=12, choices=AuditOutcome.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    packages_audited = models.PositiveIntegerField(default=0)
    findings_count = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    fixed_count = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("view_monthlyreport", "Can read the monthly report")]

    def __str__(self) -> str:
        return f"{self.tool} audit of {self.project} at {self.created_at:%Y-%m-%d %H:%M}"


class DependencyFinding(models.Model):
    """A vulnerable package in a project, from the first audit that listed it until one that does not.

    One open row per (project, tool, package, advisory); ``resolved_at`` is set by the first
    complete audit of the same project and tool that no longer lists it.
    """

    project = models.CharField(max_length=100, db_index=True)
    tool = models.CharField(max_length=10, choices=AuditTool.choices)
    package = models.CharField(max_length=200)
    version = models.CharField(max_length=100, blank=True)
    affected_range = models.CharField(max_length=200, blank=True)
    advisory_id = models.CharField(max_length=100)
    aliases = models.JSONField(default=list, blank=True)
    severity = models.CharField(max_length=10, choices=FindingSeverity.choices, db_index=True)
    fixed_version = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=300, blank=True)
    first_audit = models.ForeignKey(DependencyAudit, on_delete=models.PROTECT, related_name="new_findings")
    last_audit = models.ForeignKey(DependencyAudit, on_delete=models.PROTECT, related_name="+")
    first_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_audit = models.ForeignKey(
        DependencyAudit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["resolved_at", "severity", "package", "advisory_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "tool", "package", "advisory_id"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_finding_per_advisory",
            )
        ]

    def __str__(self) -> str:
        return f"{self.package} {self.version or self.affected_range}: {self.advisory_id}"

    @property
    def alert_key(self) -> str:
        return f"dependency:{self.project}:{self.tool}:{self.package.lower()}:{self.advisory_id}"
