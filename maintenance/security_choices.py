"""Choice sets of the security half of maintenance: the secrets registry, dependency audits,
database care (kept apart from choices.py, which holds the checklist and runbook sets)."""

from __future__ import annotations

from django.db import models


class SecretKind(models.TextChoices):
    """Where a registry row came from: entered by an Admin, or listed by the portal itself."""

    MANUAL = "manual", "Registered by hand"
    API_TOKEN = "api_token", "Portal API token"
    CHANNEL = "channel", "Notification channel secret"
    VARIABLE = "variable", "Backup credential variable"
    CERTIFICATE = "certificate", "TLS certificate"


class RotationStepName(models.TextChoices):
    """The runbook's API Key Rotation, in its order and words."""

    GENERATE = "generate", "Generate new key"
    UPDATE = "update", "Update in secrets"
    TEST = "test", "Test with new key"
    REVOKE = "revoke", "Revoke old key"


ROTATION_STEPS = [RotationStepName.GENERATE, RotationStepName.UPDATE, RotationStepName.TEST, RotationStepName.REVOKE]


class RotationState(models.TextChoices):
    OPEN = "open", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class DueState(models.TextChoices):
    OK = "ok", "OK"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"


class FindingSeverity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MODERATE = "moderate", "Moderate"
    LOW = "low", "Low"
    INFO = "info", "Info"
    UNKNOWN = "unknown", "Not rated"


# Severities that raise an alert when first seen. pip-audit rates nothing ("unknown"): an unrated
# advisory is treated as high until someone reads it, so the portal's own audit is never silent.
ALERTING_SEVERITIES = {FindingSeverity.CRITICAL, FindingSeverity.HIGH, FindingSeverity.UNKNOWN}
SEVERITY_ORDER = {s: i for i, s in enumerate(FindingSeverity.values)}


class AuditTool(models.TextChoices):
    PIP_AUDIT = "pip-audit", "pip-audit"
    NPM_AUDIT = "npm-audit", "npm audit"


class AuditOutcome(models.TextChoices):
    COMPLETE = "complete", "Complete"
    UNREACHABLE = "unreachable", "Advisory service unreachable"
    FAILED = "failed", "Failed"


class AuditOrigin(models.TextChoices):
    UPLOAD = "upload", "Uploaded in the console"
    API = "api", "POST /api/v1/ingest/audits"
    SCHEDULE = "schedule", "Weekly self-audit"


class VacuumState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
