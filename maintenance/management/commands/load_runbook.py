"""``manage.py load_runbook``: make sure the runbook's checklists and runbooks exist, and open today's periods.

The data migration loads the same content; this command puts back what is missing (after a
flush, say) and never overwrites an admin's edits. ``make run`` calls it after ``migrate``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from opsportal import audit
from opsportal.models import AuditRecord

from ...periods import open_due_periods
from ...seed import ensure_content


class Command(BaseCommand):
    help = "Load the runbook's checklists and runbooks where missing, and open the current checklist periods."

    def handle(self, *args: Any, **options: Any) -> None:
        with audit.acting(None, AuditRecord.Channel.SYSTEM):
            made = ensure_content()
            opened = open_due_periods()
        self.stdout.write(
            f"load_runbook: {made['checklists']} checklists and {made['runbooks']} runbooks added, "
            f"{len(opened)} periods opened"
        )
