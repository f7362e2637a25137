"""Django admin for the agents part: agents and the model providers of the fallback chain (Admins)."""

from __future__ import annotations

from django.contrib import admin

from .models import Agent, ModelProvider


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "kind", "service", "poll_url", "enabled", "reported_status", "last_polled_at")
    list_filter = ("kind", "enabled")
    search_fields = ("slug", "name")
    readonly_fields = (
        "last_polled_at",
        "poll_error",
        "reported_at",
        "reported_status",
        "reported_error",
        "reported_memory_mb",
        "reported_avg_seconds",
        "reported_critique_iterations",
    )


@admin.register(ModelProvider)
class ModelProviderAdmin(admin.ModelAdmin):
    list_display = ("position", "name", "kind", "base_url", "api_key_env", "enabled", "state", "last_checked_at")
    list_display_links = ("name",)
    list_editable = ("position", "enabled")
    list_filter = ("kind", "state", "enabled")
    readonly_fields = ModelProvider.STATE_FIELDS
