"""URLs of the backups app."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "backups"
urlpatterns = [
    path("", views.index, name="index"),
    path("setup/", views.setup, name="setup"),
    path("setup/protect-portal/", views.protect_portal, name="protect_portal"),
    path("policies/new/", views.policy_new, name="policy_new"),
    path("policies/<slug:slug>/", views.policy_detail, name="policy"),
    path("policies/<slug:slug>/edit/", views.policy_edit, name="policy_edit"),
    path("policies/<slug:slug>/delete/", views.policy_delete, name="policy_delete"),
    path("policies/<slug:slug>/run/", views.run_now, name="run_now"),
    path("policies/<slug:slug>/verify/", views.verify_now, name="verify_now"),
    path("policies/<slug:slug>/drill/", views.drill_now, name="drill_now"),
    path("policies/<slug:slug>/prune/", views.prune, name="prune"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/restore/", views.restore, name="restore"),
    path("runs/<int:pk>/restore-to/", views.restore_to, name="restore_to"),
    path("restores/<int:pk>/", views.restore_detail, name="restore_run"),
    path("drills/<int:pk>/", views.drill_detail, name="drill"),
    path("drills/<int:pk>/report/", views.drill_report, name="drill_report"),
    path("sources/new/", views.source_new, name="source_new"),
    path("sources/<slug:slug>/edit/", views.source_edit, name="source_edit"),
    path("sources/<slug:slug>/delete/", views.source_delete, name="source_delete"),
    path("destinations/new/", views.destination_new, name="destination_new"),
    path("destinations/<slug:slug>/edit/", views.destination_edit, name="destination_edit"),
    path("destinations/<slug:slug>/delete/", views.destination_delete, name="destination_delete"),
]
