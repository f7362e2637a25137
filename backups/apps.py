"""App config for backups: audit registrations, the Backup Age metric source, default beat entries."""

from __future__ import annotations

from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = "Backups and recovery"

    def ready(self) -> None:
        from monitoring.alerts.public import register_metric_source
        from opsportal import audit, metrics
        from opsportal.schedule import DefaultEntry, declare

        from . import providers
        from .metrics import BackupCollector, backup_age_hours
        from .models import BackupRun, Destination, Policy, RestoreDrill, RestoreRun, Source

        audit.register(Source)
        audit.register(Destination)
        audit.register(Policy, exclude={"next_due_at"})
        # Job rows: creation (who asked for a backup, drill or restore) and deletion are audited;
        # progress is written with QuerySet.update() and is not a change anyone made.
        volatile = {"heartbeat_at", "log", "steps", "bytes_in", "bytes_out", "cleanup", "worker"}
        audit.register(BackupRun, exclude=volatile | {"manifest", "tool_versions", "kept_reasons"})
        audit.register(RestoreDrill, exclude=volatile | {"tables", "smoke"})
        audit.register(RestoreRun, exclude=volatile | {"tables", "smoke", "moved_aside"})

        register_metric_source("backup_age_hours", backup_age_hours)
        providers.register()  # facts maintenance reads by name (sources, credential variables, the month)
        from .evidence import register as register_evidence_providers

        register_evidence_providers()
        metrics.register_collector(BackupCollector())

        declare(
            DefaultEntry(
                name="backups: run due backups",
                task="backups.run_due",
                every_seconds=60,
                description="Queue a backup for each policy whose cron schedule is due (one run per policy).",
            )
        )
        declare(
            DefaultEntry(
                name="backups: re-verify kept backups",
                task="backups.reverify",
                crontab="30 4 * * 0",
                description="Weekly integrity check: re-read, checksum, decompress and restore-check every kept backup.",
            )
        )
        declare(
            DefaultEntry(
                name="backups: monthly restore drill",
                task="backups.drill_all",
                crontab="0 5 1 * *",
                description="Restore the latest good backup of each policy into a scratch database and check it.",
            )
        )
        declare(
            DefaultEntry(
                name="backups: reap stale runs",
                task="backups.reap",
                every_seconds=60,
                description="Fail backups, drills and restores whose worker died (heartbeat older than "
                "BACKUP_STALE_MINUTES); remove partial objects they left.",
            )
        )
