"""URLs of services: the pages and the services JSON API (names in the app's "monitoring" namespace)."""

from __future__ import annotations

from django.urls import path

from monitoring.services import api, ping, views

urlpatterns = [
    path("services/", views.services, name="services"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/export.json", views.services_export, name="services_export"),
    path("services/import/", views.services_import, name="services_import"),
    path("services/<slug:slug>/", views.service_detail, name="service"),
    path("services/<slug:slug>/edit/", views.service_edit, name="service_edit"),
    path("services/<slug:slug>/delete/", views.service_delete, name="service_delete"),
    path("services/<slug:slug>/probe/", views.service_probe, name="service_probe"),
    path("ping/<uuid:key>", ping.ping_success, name="ping"),
    path("ping/<uuid:key>/start", ping.ping_start, name="ping_start"),
    path("ping/<uuid:key>/fail", ping.ping_fail, name="ping_fail"),
    path("ping/<uuid:key>/<int:status>", ping.ping_exit_status, name="ping_exit_status"),
    path("api/v1/services", api.services, name="api_services"),
    path("api/v1/services/<slug:slug>", api.service, name="api_service"),
    path("api/v1/services/<slug:slug>/results", api.service_results, name="api_service_results"),
]
