"""The reaper runs every minute (was every 5): installs that kept the old default interval move on."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    tasks = PeriodicTask.objects.filter(
        name="backups: reap stale runs", interval__every=300, interval__period="seconds"
    )
    if tasks.exists():
        minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
        tasks.update(interval=minute)


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0003_adopted_uncompressed"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
