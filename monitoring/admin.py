"""Django admin for monitoring configuration; state and history are read-only here.

Forms are the console's own (ServiceForm, ChannelForm), so the same validation applies and a
channel's Apprise URL is never shown again after saving.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from monitoring.alerts.forms import ChannelForm
from monitoring.alerts.models import Alert, AlertEvent, MaintenanceWindow, NotificationChannel, Silence
from monitoring.metrics.models import BurnRateRule, Metric
from monitoring.services.forms import CONFIG_FIELDS
from monitoring.services.models import Deployment, Service, ServiceFlip, Tag
from opsportal.admin import ReadOnlyAdmin

STATE_FIELDS = Service.STATE_FIELDS


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "environment", "check_type", "enabled", "status", "last_checked_at")
    list_filter = ("kind", "check_type", "status", "enabled", "environment", "tags")
    search_fields = ("name", "slug", "url", "host")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("tags",)
    readonly_fields = STATE_FIELDS
    fieldsets = (
        (None, {"fields": [*CONFIG_FIELDS[:7], "tags"]}),
        ("Check", {"fields": CONFIG_FIELDS[7:]}),
        ("Current state (written by probes)", {"fields": STATE_FIELDS, "classes": ["collapse"]}),
    )


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(ServiceFlip)
class ServiceFlipAdmin(ReadOnlyAdmin):
    list_display = ("at", "service", "old_status", "new_status", "reason", "processed_at")
    list_filter = ("new_status",)
    list_select_related = ("service",)


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "note", "dispatched_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts change state only through their lifecycle (console or API), never by editing the row."""

    list_display = ("started_at", "severity", "state", "summary", "service", "source", "notification_count")
    list_filter = ("state", "severity", "source")
    search_fields = ("dedup_key", "summary")
    list_select_related = ("service",)
    inlines = [AlertEventInline]


class BurnRateRuleInline(admin.TabularInline):
    model = BurnRateRule
    extra = 0


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    inlines = [BurnRateRuleInline]
    list_display = (
        "name",
        "unit",
        "direction",
        "target",
        "alert_threshold",
        "clear_threshold",
        "for_seconds",
        "scope",
        "enabled",
    )
    list_editable = ("target", "alert_threshold", "clear_threshold", "enabled")
    list_filter = ("scope", "source", "enabled")
    readonly_fields = ("key", "source", "source_name", "updated_at")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = (
        "name",
        "kind",
        "target_display",
        "min_severity",
        "escalate_after_minutes",
        "enabled",
        "last_test_ok",
    )
    list_filter = ("kind", "enabled", "min_severity")
    filter_horizontal = ("services", "tags")


class AuthoredAdmin(admin.ModelAdmin):
    """Silences and maintenance windows record who made them."""

    readonly_fields = ("created_by", "created_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Silence)
class SilenceAdmin(AuthoredAdmin):
    list_display = ("__str__", "reason", "created_by", "created_at")
    list_select_related = ("created_by",)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(AuthoredAdmin):
    list_display = ("service", "starts_at", "ends_at", "reason", "created_by")
    list_select_related = ("service", "created_by")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ("__str__",)
