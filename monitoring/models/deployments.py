"""Deployment events reported by CI through the ingest API; a failed one raises an alert."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DeploymentStatus(models.TextChoices):
    STARTED = "started", "Started"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


class Deployment(models.Model):
    """One deployment of a version of a service, as reported by the deploying system."""

    service = models.ForeignKey("monitoring.Service", on_delete=models.CASCADE, related_name="deployments")
    version = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=DeploymentStatus.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.service} {self.version} {self.status}"
