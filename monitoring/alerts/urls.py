"""URLs of alerts: alerts, silences, maintenance windows, channels and the alerts JSON API."""

from __future__ import annotations

from django.urls import path

from monitoring.alerts import api, silences_api, views

urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("alerts/<int:pk>/comment/", views.alert_comment, name="alert_comment"),
    path("silences/", views.silences, name="silences"),
    path("silences/new/", views.silence_create, name="silence_create"),
    path("silences/<int:pk>/end/", views.silence_expire, name="silence_expire"),
    path("maintenance-windows/new/", views.maintenance_window_create, name="maintenance_window_create"),
    path("maintenance-windows/<int:pk>/delete/", views.maintenance_window_delete, name="maintenance_window_delete"),
    path("channels/", views.channels, name="channels"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<int:pk>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<int:pk>/delete/", views.channel_delete, name="channel_delete"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("api/v1/alerts", api.alerts, name="api_alerts"),
    path("api/v1/alerts/<int:pk>", api.alert, name="api_alert"),
    path("api/v1/alerts/<int:pk>/acknowledge", api.alert_acknowledge, name="api_alert_acknowledge"),
    path("api/v1/alerts/<int:pk>/resolve", api.alert_resolve, name="api_alert_resolve"),
    path("api/v1/silences", silences_api.silences, name="api_silences"),
    path("api/v1/silences/<int:pk>/expire", silences_api.silence_expire, name="api_silence_expire"),
]
