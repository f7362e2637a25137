"""URLs of the monitoring app; the dashboard is the portal's home page."""

from __future__ import annotations

from django.urls import path

from .api import services as services_api
from .views import dashboard, services

app_name = "monitoring"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard/services/", dashboard.dashboard_services, name="dashboard_services"),
    path("dashboard/alerts/", dashboard.dashboard_alerts, name="dashboard_alerts"),
    path("services/", services.services, name="services"),
    path("services/new/", services.service_create, name="service_create"),
    path("services/export.json", services.services_export, name="services_export"),
    path("services/import/", services.services_import, name="services_import"),
    path("services/<slug:slug>/", services.service_detail, name="service"),
    path("services/<slug:slug>/edit/", services.service_edit, name="service_edit"),
    path("services/<slug:slug>/delete/", services.service_delete, name="service_delete"),
    path("services/<slug:slug>/probe/", services.service_probe, name="service_probe"),
    path("api/v1/services", services_api.services, name="api_services"),
    path("api/v1/services/<slug:slug>", services_api.service, name="api_service"),
    path("api/v1/services/<slug:slug>/results", services_api.service_results, name="api_service_results"),
]

# Metrics and alerts ---------------------------------------------------------------------------
from .api import alerts as alerts_api  # noqa: E402
from .api import ingest as ingest_api  # noqa: E402
from .views import alerts, channels, metrics, silences  # noqa: E402

urlpatterns += [
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert"),
    path("alerts/<int:pk>/acknowledge/", alerts.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/resolve/", alerts.alert_resolve, name="alert_resolve"),
    path("alerts/<int:pk>/comment/", alerts.alert_comment, name="alert_comment"),
    path("metrics/", metrics.metrics, name="metrics"),
    path("metrics/<slug:key>/", metrics.metric_detail, name="metric"),
    path("metrics/<slug:key>/edit/", metrics.metric_edit, name="metric_edit"),
    path("silences/", silences.silences, name="silences"),
    path("silences/new/", silences.silence_create, name="silence_create"),
    path("silences/<int:pk>/end/", silences.silence_expire, name="silence_expire"),
    path("maintenance-windows/new/", silences.maintenance_window_create, name="maintenance_window_create"),
    path("maintenance-windows/<int:pk>/delete/", silences.maintenance_window_delete, name="maintenance_window_delete"),
    path("channels/", channels.channels, name="channels"),
    path("channels/new/", channels.channel_create, name="channel_create"),
    path("channels/<int:pk>/edit/", channels.channel_edit, name="channel_edit"),
    path("channels/<int:pk>/delete/", channels.channel_delete, name="channel_delete"),
    path("channels/<int:pk>/test/", channels.channel_test, name="channel_test"),
    path("api/v1/alerts", alerts_api.alerts, name="api_alerts"),
    path("api/v1/alerts/<int:pk>", alerts_api.alert, name="api_alert"),
    path("api/v1/alerts/<int:pk>/acknowledge", alerts_api.alert_acknowledge, name="api_alert_acknowledge"),
    path("api/v1/alerts/<int:pk>/resolve", alerts_api.alert_resolve, name="api_alert_resolve"),
    path("api/v1/ingest/metrics", ingest_api.ingest_metrics, name="api_ingest_metrics"),
    path("api/v1/ingest/deployments", ingest_api.ingest_deployments, name="api_ingest_deployments"),
]
