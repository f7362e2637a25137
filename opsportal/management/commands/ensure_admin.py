"""Create the first admin account with a random password written to a file in DATA_DIR."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from opsportal import audit
from opsportal.roles import ADMIN, set_role


class Command(BaseCommand):
    help = "Create the 'admin' account (Admin role) if it does not exist; its password goes to DATA_DIR."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset", action="store_true", help="set a new random password even if the user exists")

    def handle(self, *args: Any, username: str, reset: bool, **options: Any) -> None:
        User = get_user_model()
        path = Path(settings.DATA_DIR) / f"{username}_password.txt"
        user = User.objects.filter(username=username).first()
        with audit.acting(None):
            if user is not None and not reset:
                set_role(user, ADMIN)
                where = f"the password is in {path}" if path.exists() else "its password was set earlier"
                self.stdout.write(f"Admin account '{username}' exists; {where}.")
                return
            password = secrets.token_urlsafe(15)
            if user is None:
                user = User.objects.create_user(username=username, password=password)
            else:
                user.set_password(password)
                user.save()
            set_role(user, ADMIN)
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Admin account '{username}' ready; its password is in {path}"))
