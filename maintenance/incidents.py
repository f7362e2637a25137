"""An incident's merged timeline (alert events, execution steps, deployments around it) and its Markdown export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from monitoring.public import evidence

from .choices import StepState
from .models import Incident

DEPLOYMENTS_BEFORE = dt.timedelta(hours=24)
DEPLOYMENTS_AFTER = dt.timedelta(hours=1)


@dataclass
class Entry:
    at: dt.datetime
    source: str  # alert, execution, step, deployment
    title: str
    detail: str = ""
    code: str = ""
    actor: str = ""


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def alert_of(incident: Incident) -> dict[str, Any] | None:
    if incident.alert_id is None:
        return None
    found = evidence("alert", alert_id=incident.alert_id)
    return found if found and found.get("found") else None


def timeline(incident: Incident, alert: dict[str, Any] | None = None) -> list[Entry]:
    """Everything that happened, oldest first: the alert's events, each execution and step, deployments."""
    entries: list[Entry] = []
    alert = alert if alert is not None else alert_of(incident)
    if alert:
        for event in alert.get("events", []):
            at = _dt(event["at"])
            if at:
                entries.append(
                    Entry(at, "alert", f"Alert {event['kind']}", event.get("note", ""), actor=event.get("actor", ""))
                )
    end = incident.closed_at or timezone.now()
    for ex in incident.executions.select_related("runbook", "version").prefetch_related("steps"):
        entries.append(
            Entry(
                ex.started_at,
                "execution",
                f"Started {ex.runbook.title} (v{ex.version.number})",
                actor=ex.started_by_name,
            )
        )
        for step in ex.steps.all():
            if step.done_at is None:
                continue
            if step.state == StepState.SKIPPED:
                entries.append(
                    Entry(
                        step.done_at,
                        "step",
                        f"Skipped step {step.position}: {step.text}",
                        step.skip_reason,
                        actor=step.done_by_name,
                    )
                )
            else:
                entries.append(
                    Entry(
                        step.done_at,
                        "step",
                        f"Step {step.position} done: {step.text}",
                        step.note,
                        step.output,
                        step.done_by_name,
                    )
                )
        if ex.finished_at:
            entries.append(
                Entry(
                    ex.finished_at,
                    "execution",
                    f"Finished {ex.runbook.title}: {ex.get_outcome_display()}",
                    ex.outcome_note,
                )
            )
            end = max(end, ex.finished_at)
    start = incident.alert_started_at or incident.opened_at
    found = evidence(
        "deployments",
        start=start - DEPLOYMENTS_BEFORE,
        end=end + DEPLOYMENTS_AFTER,
        service_id=alert.get("service_id") if alert else None,
    )
    for dep in (found or {}).get("deployments", []):
        at = _dt(dep["at"])
        if at:
            entries.append(Entry(at, "deployment", f"Deployment of {dep['service']} {dep['version']}: {dep['status']}"))
    entries.sort(key=lambda e: e.at)
    return entries


def _section(title: str, text: str) -> str:
    return f"## {title}\n\n{text.strip() or '_(not written)_'}\n"


def as_markdown(incident: Incident) -> str:
    """The post-mortem and the timeline as one Markdown document."""
    pm = getattr(incident, "postmortem", None)
    lines = [f"# Post-mortem: {incident.title}", ""]
    lines.append(f"- Incident #{incident.pk}, opened {incident.opened_at:%Y-%m-%d %H:%M %Z}")
    if incident.closed_at:
        lines.append(f"- Closed {incident.closed_at:%Y-%m-%d %H:%M %Z}")
    if incident.alert_id:
        lines.append(f"- Alert #{incident.alert_id} `{incident.alert_key}` ({incident.alert_severity})")
    if incident.service_name:
        lines.append(f"- Service: {incident.service_name}")
    lines.append("")
    if pm is not None:
        lines += [
            _section("Summary", pm.summary),
            _section("Impact", pm.impact),
            _section("Root cause", pm.root_cause),
            _section("What went well", pm.went_well),
            _section("What to prevent", pm.prevent),
            "## Follow-up actions",
            "",
        ]
        actions = list(pm.actions.all())
        for a in actions:
            due = f" (due {a.due:%Y-%m-%d})" if a.due else ""
            lines.append(f"- [{'x' if a.done else ' '}] {a.text} — {a.owner}{due}")
        if not actions:
            lines.append("_(none)_")
        lines.append("")
    else:
        lines += ["_No post-mortem written yet._", ""]
    lines += ["## Timeline", ""]
    for e in timeline(incident):
        local = timezone.localtime(e.at)
        who = f" ({e.actor})" if e.actor else ""
        lines.append(f"- **{local:%Y-%m-%d %H:%M:%S}** [{e.source}] {e.title}{who}")
        if e.detail:
            lines.append(f"  {e.detail.strip()}".replace("\n", "\n  "))
        if e.code:
            lines += ["", "  ```", *[f"  {line}" for line in e.code.rstrip().splitlines()], "  ```"]
    return "\n".join(lines).rstrip() + "\n"
