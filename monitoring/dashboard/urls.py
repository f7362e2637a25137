"""URLs of the dashboard: the portal's home page and its live fragments."""

from __future__ import annotations

from django.urls import path

from monitoring.dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/services/", views.dashboard_services, name="dashboard_services"),
    path("dashboard/alerts/", views.dashboard_alerts, name="dashboard_alerts"),
]
