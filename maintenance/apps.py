"""App config for maintenance: audit registrations, evidence providers, the drill hook, beat entries."""

from __future__ import annotations

from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Maintenance"

    def ready(self) -> None:
        from . import security_setup

        security_setup.ready()

        from opsportal import audit, events
        from opsportal.schedule import DefaultEntry, declare

        from . import evidence
        from .checklists import on_restore_drill_passed
        from .models import (
            Checklist,
            ChecklistItem,
            FollowUpAction,
            Incident,
            PostMortem,
            Runbook,
            RunbookExecution,
            RunbookVersion,
        )

        # Ticks and step progress are compare-and-set updates that write their own audit records.
        for model in (Checklist, ChecklistItem, Runbook, RunbookExecution, Incident, PostMortem, FollowUpAction):
            audit.register(model)
        audit.register(RunbookVersion, exclude={"steps"})

        evidence.register()
        events.restore_drill_passed.connect(on_restore_drill_passed, dispatch_uid="maintenance-drill-ticks-checklist")

        declare(
            DefaultEntry(
                "maintenance: open checklist periods",
                "maintenance.open_checklist_periods",
                every_seconds=300,
                description="Opens each checklist's day, week, month and quarter (idempotent, catches up) "
                "and raises a warning for periods that ended with open items.",
            )
        )
