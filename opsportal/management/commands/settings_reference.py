"""Print or rewrite .env.example and the README's settings table from the declared settings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from opsportal import conf_reference


class Command(BaseCommand):
    help = "Print .env.example as the declared settings give it; --write rewrites .env.example and README.md's table."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write", action="store_true", help="rewrite .env.example and the README settings table")

    def handle(self, *args: Any, write: bool, **options: Any) -> None:
        if write:
            conf_reference.write()
            self.stdout.write("wrote .env.example and the settings table of README.md")
        else:
            self.stdout.write(conf_reference.env_example(), ending="")
