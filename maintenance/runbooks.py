"""Runbook versions, import/export as a folder of Markdown files, and executions step by step.

Every edit is a new RunbookVersion (an unchanged body saves nothing). An execution copies the
steps of the version it follows, so later edits never change what it shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from opsportal import audit
from opsportal.models import AuditRecord

from .choices import ExecutionState, IncidentState, RunbookKind, StepState
from .markdown import RunbookFileError, join_file, parse_steps, split_file
from .models import ExecutionStep, Incident, Runbook, RunbookExecution, RunbookVersion

OUTPUT_LIMIT = 20_000
NOTE_LIMIT = 4000


def _name(user: Any) -> str:
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""


def save_version(runbook: Runbook, body: str, *, author: Any = None, note: str = "") -> RunbookVersion | None:
    """Save ``body`` as the runbook's next version; None when it equals the current text."""
    body = body.replace("\r\n", "\n").strip() + "\n"
    current = runbook.current
    if current is not None and current.body == body:
        return None
    with transaction.atomic():
        Runbook.objects.select_for_update().filter(pk=runbook.pk).first()
        number = (runbook.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = RunbookVersion.objects.create(
            runbook=runbook,
            number=number,
            body=body,
            steps=parse_steps(body),
            author=author if _name(author) else None,
            author_name=_name(author),
            change_note=note[:200],
        )
        runbook.current = version
        runbook.save(update_fields=["current"])
    return version


# Files ---------------------------------------------------------------------------------------


def to_file(runbook: Runbook) -> str:
    meta = {"title": runbook.title, "slug": runbook.slug, "kind": runbook.kind, "position": runbook.position}
    return join_file(meta, runbook.current.body if runbook.current else "")


def export_folder(folder: Path) -> list[Path]:
    """Write each runbook's current text to ``folder/<slug>.md``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for runbook in Runbook.objects.select_related("current"):
        path = folder / f"{runbook.slug}.md"
        path.write_text(to_file(runbook), encoding="utf-8")
        written.append(path)
    return written


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _read_folder(folder: Path) -> list[tuple[dict[str, str], str, str]]:
    files = sorted(folder.glob("*.md"))
    if not files:
        raise RunbookFileError(f"{folder}: no .md files")
    parsed, errors = [], []
    for path in files:
        try:
            meta, body = split_file(path.read_text(encoding="utf-8"), name=path.name)
            kind = meta.get("kind", RunbookKind.RUNBOOK)
            if kind not in RunbookKind.values:
                raise RunbookFileError(f"{path.name}: kind {kind!r} is not one of {', '.join(RunbookKind.values)}")
            if meta.get("position") and not meta["position"].isdigit():
                raise RunbookFileError(f"{path.name}: position must be a whole number")
            if not parse_steps(body):
                raise RunbookFileError(f"{path.name}: no numbered steps")
            parsed.append((meta, body, path.name))
        except (RunbookFileError, UnicodeDecodeError) as exc:
            errors.append(str(exc))
    if errors:
        raise RunbookFileError("; ".join(errors))
    return parsed


def import_folder(folder: Path, *, author: Any = None) -> ImportReport:
    """Create or update runbooks from ``folder/*.md`` (matched by slug); all or nothing."""
    report = ImportReport()
    entries = _read_folder(folder)
    with transaction.atomic():
        for meta, body, filename in entries:
            slug = meta.get("slug") or slugify(meta["title"])
            runbook = Runbook.objects.filter(slug=slug).first()
            fields = {"title": meta["title"][:100], "kind": meta.get("kind", RunbookKind.RUNBOOK)}
            if meta.get("position"):
                fields["position"] = int(meta["position"])
            if runbook is None:
                runbook = Runbook.objects.create(slug=slug, **fields)
                save_version(runbook, body, author=author, note=f"imported from {filename}")
                report.created.append(runbook.title)
                continue
            changed = any(getattr(runbook, k) != v for k, v in fields.items())
            if changed:
                for k, v in fields.items():
                    setattr(runbook, k, v)
                runbook.save()
            version = save_version(runbook, body, author=author, note=f"imported from {filename}")
            (report.updated if version or changed else report.unchanged).append(runbook.title)
    return report


# Executions -------------------------------------------------------------------------------


class StepRefused(ValueError):
    """A step action that cannot be done (execution finished, step already done)."""


def start_execution(runbook: Runbook, user: Any, *, alert: dict[str, Any] | None = None) -> RunbookExecution:
    """Start following the runbook's current version; with an alert, the execution opens an incident."""
    version = runbook.current
    if version is None:
        raise StepRefused("this runbook has no text yet")
    with transaction.atomic():
        incident = None
        if alert and alert.get("found"):
            # One incident per alert: a second execution for the same open alert joins the first.
            incident = (
                Incident.objects.filter(alert_id=alert["id"], state=IncidentState.OPEN).order_by("opened_at").first()
            )
        if incident is None and alert and alert.get("found"):
            incident = Incident.objects.create(
                title=alert.get("summary") or runbook.title,
                alert_id=alert["id"],
                alert_key=alert.get("dedup_key", ""),
                alert_severity=alert.get("severity", ""),
                alert_started_at=dt.datetime.fromisoformat(alert["started_at"]) if alert.get("started_at") else None,
                service_name=alert.get("service", ""),
                opened_by=user,
            )
        execution = RunbookExecution.objects.create(
            runbook=runbook, version=version, incident=incident, started_by=user, started_by_name=_name(user)
        )
        ExecutionStep.objects.bulk_create(
            ExecutionStep(execution=execution, position=i, text=s["text"], code=s.get("code", ""))
            for i, s in enumerate(version.steps, 1)
        )
    return execution


def _bounded(output: str) -> tuple[str, bool]:
    output = (output or "").replace("\r\n", "\n")
    if len(output) <= OUTPUT_LIMIT:
        return output, False
    return output[:OUTPUT_LIMIT], True


def _check_running(step: ExecutionStep) -> None:
    if step.execution.state != ExecutionState.RUNNING:
        raise StepRefused("this execution is finished")


def complete_step(step: ExecutionStep, user: Any, *, note: str = "", output: str = "") -> ExecutionStep:
    _check_running(step)
    text, truncated = _bounded(output)
    moved = ExecutionStep.objects.filter(pk=step.pk, state=StepState.PENDING).update(
        state=StepState.DONE,
        note=(note or "").strip()[:NOTE_LIMIT],
        output=text,
        output_truncated=truncated,
        done_at=timezone.now(),
        done_by=user,
        done_by_name=_name(user),
    )
    if not moved:
        raise StepRefused(f"step {step.position} is already {step.get_state_display().lower()}")
    step.refresh_from_db()
    audit.record(AuditRecord.Action.ACTION, step.execution, summary=f"step {step.position} done", actor=user)
    return step


def skip_step(step: ExecutionStep, user: Any, *, reason: str) -> ExecutionStep:
    _check_running(step)
    reason = (reason or "").strip()
    if not reason:
        raise StepRefused("say why the step is skipped")
    moved = ExecutionStep.objects.filter(pk=step.pk, state=StepState.PENDING).update(
        state=StepState.SKIPPED,
        skip_reason=reason[:500],
        done_at=timezone.now(),
        done_by=user,
        done_by_name=_name(user),
    )
    if not moved:
        raise StepRefused(f"step {step.position} is already {step.get_state_display().lower()}")
    step.refresh_from_db()
    audit.record(
        AuditRecord.Action.ACTION, step.execution, summary=f"step {step.position} skipped: {reason[:200]}", actor=user
    )
    return step


def reopen_step(step: ExecutionStep, user: Any) -> ExecutionStep:
    """Put a done or skipped step back to pending (a mis-click), while the execution runs."""
    _check_running(step)
    ExecutionStep.objects.filter(pk=step.pk).exclude(state=StepState.PENDING).update(
        state=StepState.PENDING,
        note="",
        output="",
        output_truncated=False,
        skip_reason="",
        done_at=None,
        done_by=None,
        done_by_name="",
    )
    audit.record(AuditRecord.Action.ACTION, step.execution, summary=f"step {step.position} reopened", actor=user)
    step.refresh_from_db()
    return step


def finish_execution(execution: RunbookExecution, user: Any, *, outcome: str, note: str = "") -> RunbookExecution:
    moved = RunbookExecution.objects.filter(pk=execution.pk, state=ExecutionState.RUNNING).update(
        state=ExecutionState.FINISHED,
        finished_at=timezone.now(),
        outcome=outcome,
        outcome_note=(note or "")[:NOTE_LIMIT],
    )
    if not moved:
        raise StepRefused("this execution is already finished")
    execution.refresh_from_db()
    audit.record(
        AuditRecord.Action.ACTION, execution, summary=f"finished: {execution.get_outcome_display()}", actor=user
    )
    return execution


def close_incident(incident: Incident) -> None:
    Incident.objects.filter(pk=incident.pk, state=IncidentState.OPEN).update(
        state=IncidentState.CLOSED, closed_at=timezone.now()
    )
