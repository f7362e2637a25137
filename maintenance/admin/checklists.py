"""Django admin for checklist templates (items inline); periods and ticks are shown read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ..models import Checklist, ChecklistItem, ChecklistPeriod, PeriodItem


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    fields = ("position", "text", "evidence", "retired_at")
    extra = 0


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    list_display = ("name", "cadence", "enabled", "position")
    inlines = [ChecklistItemInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # periods point at it; disable it instead


class PeriodItemInline(admin.TabularInline):
    model = PeriodItem
    fields = ("text", "ticked_at", "ticked_by_name", "note", "evidence_fresh")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ChecklistPeriod)
class ChecklistPeriodAdmin(admin.ModelAdmin):
    """What was ticked in each period: written by beat and the console, never by hand."""

    list_display = ("checklist", "key", "starts_at", "ends_at", "completed_at", "overdue_at")
    list_filter = ("checklist",)
    readonly_fields = (
        "checklist",
        "key",
        "starts_at",
        "ends_at",
        "opened_at",
        "completed_at",
        "overdue_at",
        "overdue_items",
    )
    inlines = [PeriodItemInline]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
