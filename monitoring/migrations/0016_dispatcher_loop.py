"""Probes are dispatched by a loop in each worker (monitoring.services.dispatcher): beat's 5 s entry goes."""

from __future__ import annotations

from typing import Any

from django.db import migrations

ENTRY = "monitoring: dispatch due probes"


def forwards(apps: Any, schema_editor: Any) -> None:
    # The ScheduleDefault row stays, so the entry is not written again; an Admin who wants beat to
    # dispatch (DISPATCH_EVERY_SECONDS=0) adds a periodic task for monitoring.dispatch_due_probes.
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=ENTRY, task="monitoring.dispatch_due_probes"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0015_spread_first_due"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
