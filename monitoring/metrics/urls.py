"""URLs of metrics: the catalog pages and the ingest API (metric samples, deployments)."""

from __future__ import annotations

from django.urls import path

from monitoring.metrics import api, views

urlpatterns = [
    path("metrics/", views.metrics, name="metrics"),
    path("metrics/<slug:key>/", views.metric_detail, name="metric"),
    path("metrics/<slug:key>/edit/", views.metric_edit, name="metric_edit"),
    path("api/v1/ingest/metrics", api.ingest_metrics, name="api_ingest_metrics"),
    path("api/v1/ingest/deployments", api.ingest_deployments, name="api_ingest_deployments"),
]
