"""The backups console's pictures, drawn by opsportal.charts: the retention timeline and step bars.

The timeline puts every good backup of a policy on a time axis (newest on the right, age on a
log scale so the dailies do not pile up), with one lane per reason it is kept (daily, weekly,
monthly, oldest/newest) and a lane for backups the next prune removes. Hovering a mark shows
its date and reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString

from opsportal import charts, formatting

LANES = (
    ("daily", "daily"),
    ("weekly", "weekly"),
    ("monthly", "monthly"),
    ("other", "oldest / newest"),
    ("prune", "pruned next"),
)


def retention_timeline(
    keep: Sequence[tuple[Any, list[str]]],
    delete: Sequence[Any],
    *,
    now: dt.datetime | None = None,
    width: int = 720,
    compact: bool = False,
) -> SafeString:
    """Kept (with reasons) and to-be-pruned backups; each item needs ``started_at`` and ``pk``."""
    now = now or timezone.now()

    def age(run: Any) -> float:
        return (now - run.started_at).total_seconds() / 86400

    def when(run: Any) -> str:
        return timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M")

    marks = [
        charts.Mark(
            age(run),
            reason if reason in ("daily", "weekly", "monthly") else "other",
            f"#{run.pk} {when(run)}: kept ({', '.join(reasons)})",
            ident=str(run.pk),
        )
        for run, reasons in keep
        for reason in reasons
    ]
    marks += [
        charts.Mark(
            age(run), "prune", f"#{run.pk} {when(run)}: pruned by the next prune", hollow=True, ident=str(run.pk)
        )
        for run in delete
    ]
    return charts.lane_timeline(
        LANES,
        marks,
        width=width,
        compact=compact,
        empty="no good backups yet",
        label="Retention timeline",
        css="bk-retention",
        ident_attr="data-run",
    )


def step_bars(steps: Sequence[dict[str, Any]], *, width: int = 420) -> SafeString:
    """Each step's duration (green ok, red failed, amber running)."""
    rows = [
        charts.Bar(
            str(step.get("name", "")),
            float(step.get("seconds") or 0),
            "bar-running" if step.get("ok") is None else ("bar-ok" if step.get("ok") else "bar-failed"),
            str(step.get("label", step.get("name", ""))),
        )
        for step in steps
        if step.get("seconds") is not None or step.get("ok") is None
    ]
    return charts.bars(rows, width=width, fmt=formatting.seconds, label="Step durations")
