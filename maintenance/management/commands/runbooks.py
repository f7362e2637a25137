"""``manage.py runbooks export|import FOLDER``: runbooks as a folder of Markdown files, to keep them in git.

Export writes ``<slug>.md`` per runbook (front matter plus the current version's Markdown).
Import creates missing runbooks and saves a new version of each whose text changed; files are
all checked first and nothing is stored when one is bad. Importing what was exported changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsportal import audit
from opsportal.models import AuditRecord

from ...markdown import RunbookFileError
from ...runbooks import export_folder, import_folder


class Command(BaseCommand):
    help = "Export runbooks to, or import them from, a folder of Markdown files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, action: str, folder: Path, **options: Any) -> None:
        with audit.acting(None, AuditRecord.Channel.SYSTEM):
            if action == "export":
                written = export_folder(folder)
                self.stdout.write(f"exported {len(written)} runbooks to {folder}")
                return
            if not folder.is_dir():
                raise CommandError(f"{folder}: not a folder")
            try:
                report = import_folder(folder)
            except RunbookFileError as exc:
                raise CommandError(f"nothing imported: {exc}") from None
        self.stdout.write(
            f"imported from {folder}: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged"
        )
        for title in report.created:
            self.stdout.write(f"  created  {title}")
        for title in report.updated:
            self.stdout.write(f"  updated  {title}")
