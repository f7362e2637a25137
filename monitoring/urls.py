"""URLs of the monitoring app; the dashboard is the portal's home page."""
from __future__ import annotations

from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
