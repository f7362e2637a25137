"""Django admin for core models: the audit log is read-only, tokens cannot be created here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ApiToken, AuditRecord, Heartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "channel", "action", "object_type", "object_repr", "summary")
    list_filter = ("channel", "action", "object_type")
    search_fields = ("actor_name", "object_repr", "summary")
    date_hierarchy = "at"


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "host", "pid", "started_at", "last_seen", "tasks_succeeded", "tasks_failed")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins can see and revoke tokens; tokens are created by their owner in the console."""

    list_display = ("name", "user", "role", "display", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("name", "user__username", "key_id")
    fields = (
        "user",
        "name",
        "role",
        "display",
        "created_at",
        "last_used_at",
        "last_used_ip",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = ("user", "name", "role", "display", "created_at", "last_used_at", "last_used_ip")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
