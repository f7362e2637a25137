"""maintenance's JSON API, mounted at /api/v1/ by the root URLconf (namespace ``maintenance_api``)."""

from __future__ import annotations

from django.urls import path

from . import (
    urls_security,  # noqa: F401 - registers the "month" path converter
    views_audits,
    views_reports,
)

app_name = "maintenance_api"
urlpatterns = [
    path("ingest/audits", views_audits.api_ingest_audits, name="ingest_audits"),
    path("reports/<month:month>", views_reports.api_report, name="report"),
]
