"""URLs of the monitoring app: each part's urls, in one "monitoring" namespace (the dashboard is the home page)."""

from __future__ import annotations

from django.urls import include, path

app_name = "monitoring"
urlpatterns = [
    path("", include("monitoring.dashboard.urls")),
    path("", include("monitoring.services.urls")),
    path("", include("monitoring.alerts.urls")),
    path("", include("monitoring.metrics.urls")),
    path("", include("monitoring.agents.urls")),
]
