"""App config: validates every declared setting, wires audit registrations, role sync and default schedules at start-up."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _after_last_migrate(sender: AppConfig, **kwargs: Any) -> None:
    # post_migrate is sent once per app; permissions of an app exist only after its own
    # signal, so the role matrix is synchronised after the last installed app.
    if sender.label != list(apps.get_app_configs())[-1].label:
        return
    from .roles import sync_role_permissions
    from .schedule import apply_defaults

    sync_role_permissions()
    apply_defaults()


class OpsPortalConfig(AppConfig):
    name = "opsportal"
    verbose_name = "Ops Portal core"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

        from . import audit, conf, fastpath, signals, signins  # noqa: F401 - connects sign-in audit and history handlers
        from .models import ApiToken
        from .schedule import DefaultEntry, declare

        conf.validate()  # every part's declared settings: a malformed value stops start-up here
        audit.register(get_user_model(), exclude={"last_login"}, secret={"password"})
        audit.register(Group)
        audit.register(ApiToken, exclude={"digest", "last_used_at", "last_used_ip"})
        audit.register(PeriodicTask, exclude={"last_run_at", "total_run_count", "date_changed"})
        audit.register(CrontabSchedule)
        audit.register(IntervalSchedule)
        declare(
            DefaultEntry(
                "portal: prune job runs",
                "opsportal.prune_job_runs",
                crontab="41 4 * * *",
                description="Deletes scheduled-job records older than JOB_RUN_RETENTION_DAYS.",
            )
        )
        declare(
            DefaultEntry(
                "portal: outbound heartbeat",
                "opsportal.outbound_heartbeat",
                every_seconds=60,
                description="Pings HEARTBEAT_URL while the portal is healthy, so someone else notices when it is not.",
            )
        )
        fastpath.register("/robots.txt", "robots", fastpath.robots)
        post_migrate.connect(_after_last_migrate, dispatch_uid="opsportal-after-migrate")
