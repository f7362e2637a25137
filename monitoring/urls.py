"""URLs of the monitoring app; the dashboard is the portal's home page."""

from __future__ import annotations

from django.urls import path

from .views import dashboard

app_name = "monitoring"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]
