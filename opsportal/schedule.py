"""Default beat entries declared in code and written into django-celery-beat's tables once.

Apps declare their entries with ``declare()`` in their AppConfig.ready(). After every
migrate, ``apply_defaults()`` creates each entry that has never been written before; an
entry an admin has edited or deleted is left as the admin left it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DefaultEntry:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


_declared: dict[str, DefaultEntry] = {}


def declare(entry: DefaultEntry) -> None:
    if (entry.every_seconds is None) == (entry.crontab is None):
        raise ValueError(f"{entry.name}: give exactly one of every_seconds or crontab")
    _declared[entry.name] = entry


def declared() -> list[DefaultEntry]:
    return list(_declared.values())


def apply_defaults(**_: Any) -> list[str]:
    """Write every declared entry not written before; return the names written."""
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    from .models import ScheduleDefault

    written = []
    for entry in _declared.values():
        if ScheduleDefault.objects.filter(name=entry.name).exists():
            continue
        fields: dict[str, Any] = {
            "task": entry.task,
            "kwargs": json.dumps(entry.kwargs),
            "description": entry.description,
        }
        if entry.every_seconds is not None:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            minute, hour, dom, month, dow = entry.crontab.split()
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=dom,
                month_of_year=month,
                day_of_week=dow,
                timezone=settings.TIME_ZONE,
            )
        PeriodicTask.objects.update_or_create(name=entry.name, defaults=fields)
        ScheduleDefault.objects.create(name=entry.name)
        written.append(entry.name)
    return written
