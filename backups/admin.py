"""Django admin for backups: configuration is editable, the catalog (runs, drills) is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import BackupRun, Destination, Policy, RestoreDrill, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "url_env", "path", "is_portal_database")
    list_filter = ("kind",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "where", "sse")
    list_filter = ("kind",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "destination", "schedule", "compression", "enabled", "next_due_at")
    list_filter = ("enabled", "compression")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("next_due_at",)


class CatalogAdmin(admin.ModelAdmin):
    """Rows written by workers: shown, never edited or added by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BackupRun)
class BackupRunAdmin(CatalogAdmin):
    list_display = ("id", "policy", "state", "trigger", "started_at", "bytes_out", "verified_at")
    list_filter = ("state", "trigger", "policy")
    date_hierarchy = "created_at"


@admin.register(RestoreDrill)
class RestoreDrillAdmin(CatalogAdmin):
    list_display = ("id", "policy", "kind", "state", "target_name", "started_at", "finished_at")
    list_filter = ("state", "kind", "policy")
