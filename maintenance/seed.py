"""The runbook's content shipped with the portal: the checklists word for word and the runbook files.

``load`` works on the model classes it is given, so the data migration runs it with historical
models and ``ensure_content()`` with the live ones (after a test flushed the tables, or from
``seed_demo``). It adds only what is missing: an admin's edits are never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .markdown import parse_steps, split_file

# (cadence, name, [(item, evidence provider)]) from the runbook's "Regular Maintenance Tasks".
CHECKLISTS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "daily",
        "Daily",
        [
            ("Check service health dashboard", "services_now"),
            ("Monitor error rates", "error_rate"),
            ("Review backup completion", "backup_runs"),
        ],
    ),
    (
        "weekly",
        "Weekly",
        [
            ("Review performance metrics", "service_performance"),
            ("Update dependencies (non-critical)", "dependency_findings"),
            ("Verify backup integrity", "backup_verification"),
        ],
    ),
    (
        "monthly",
        "Monthly",
        [
            ("Full backup test/restore", "backup_drill"),
            ("Security audit", "dependency_findings"),
            ("Review access logs", "sign_ins"),
            ("Performance optimization review", "service_performance"),
        ],
    ),
    (
        "quarterly",
        "Quarterly",
        [
            ("Update documentation", ""),
            ("Review architecture decisions", ""),
            ("Plan for capacity upgrades", ""),
            ("Security assessment", ""),
        ],
    ),
]

CONTENT_DIR = Path(__file__).resolve().parent / "content"
RUNBOOK_DIR = CONTENT_DIR / "runbooks"
RUNBOOK_TEXT = CONTENT_DIR / "runbook.txt"


def load(checklist_model: Any, item_model: Any, runbook_model: Any, version_model: Any) -> dict[str, int]:
    """Create the missing checklists (with their items) and runbooks (with version 1)."""
    made = {"checklists": 0, "runbooks": 0}
    for position, (cadence, name, items) in enumerate(CHECKLISTS, 1):
        checklist, created = checklist_model.objects.get_or_create(
            cadence=cadence, defaults={"name": name, "position": position}
        )
        if created:
            made["checklists"] += 1
            for i, (text, evidence) in enumerate(items, 1):
                item_model.objects.create(checklist=checklist, text=text, position=i, evidence=evidence)
    for path in sorted(RUNBOOK_DIR.glob("*.md")):
        meta, body = split_file(path.read_text(encoding="utf-8"), name=path.name)
        if runbook_model.objects.filter(slug=meta["slug"]).exists():
            continue
        runbook = runbook_model.objects.create(
            title=meta["title"], slug=meta["slug"], kind=meta["kind"], position=int(meta.get("position") or 0)
        )
        body = body.strip() + "\n"
        version = version_model.objects.create(
            runbook=runbook, number=1, body=body, steps=parse_steps(body), change_note="from the runbook document"
        )
        runbook.current = version
        runbook.save(update_fields=["current"])
        made["runbooks"] += 1
    return made


def ensure_content() -> dict[str, int]:
    from .models import Checklist, ChecklistItem, Runbook, RunbookVersion

    return load(Checklist, ChecklistItem, Runbook, RunbookVersion)
