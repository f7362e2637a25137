"""Rules for scratch targets of drills: names a drill may create, and names it may never touch."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import conf
from .choices import SourceKind
from .engines.base import Engine, EngineError
from .models import Policy

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DrillRefused(Exception):
    """A drill or restore that must not start (bad target, no good backup, ...)."""


def protected_names(policy: Policy) -> set[str]:
    """Names a scratch target may never take: the portal's own database and the source's."""
    default = settings.DATABASES["default"]
    own = str(default.get("NAME") or "")
    names = {own, Path(own).stem}
    test_name = (default.get("TEST") or {}).get("NAME")
    if test_name:
        names.add(str(test_name))
    if policy.source.kind == SourceKind.SQLITE:
        names.add(policy.source.sqlite_path().stem)
    return {n for n in names if n}


def check_target_name(policy: Policy, name: str, engine: Engine | None = None) -> None:
    """Refuse a target that is not a fresh, prefixed scratch name (raises DrillRefused).

    Without ``engine`` only the rules that need no connection are checked (the web process
    may not hold the source's credentials); the worker checks everything again.
    """
    prefix = conf.BACKUP_DRILL_PREFIX.get()
    if not NAME.match(name):
        raise DrillRefused("Use lower-case letters, digits and underscores (at most 63), starting with a letter.")
    if not name.startswith(prefix) or name == prefix:
        raise DrillRefused(f"Scratch targets must start with the drill prefix {prefix!r}; {name!r} does not.")
    if name in protected_names(policy):
        raise DrillRefused(f"{name!r} is the name of a production database; refusing.")
    if engine is None:
        return
    if name == engine.own_target_name():
        raise DrillRefused(f"{name!r} is the source's own database; refusing.")
    try:
        exists = engine.target_exists(name)
    except EngineError as exc:
        raise DrillRefused(f"cannot check whether {name!r} exists: {exc}") from None
    if exists:
        raise DrillRefused(f"{name!r} already exists; a drill never restores over an existing database.")


def new_target_name(policy: Policy) -> str:
    slug = re.sub(r"[^a-z0-9_]", "_", policy.slug.lower())[:24]
    stamp = timezone.now().strftime("%Y%m%d%H%M")
    return f"{conf.BACKUP_DRILL_PREFIX.get()}{slug}_{stamp}_{secrets.token_hex(2)}"[:63]


# Real restores ------------------------------------------------------------------------------

PORTAL_REFUSAL = (
    "{what} is the portal's own database: the portal cannot restore over itself while it runs. "
    "Follow 'Restoring the portal's own database' in backups/README.md (stop web, worker and beat; "
    "restore it with the standard tools; migrate; start)."
)
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


class RestoreRefused(Exception):
    """A restore that must not start; the message says why and what to do instead."""


def portal_sqlite_path() -> Path | None:
    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.sqlite3":
        return None
    return Path(str(default["NAME"])).resolve()


def is_portal_postgres(params: dict[str, str]) -> bool:
    """Whether libpq ``params`` name the database this portal runs on (the test database included)."""
    default = settings.DATABASES["default"]
    if "postgresql" not in default["ENGINE"]:
        return False
    names = {str(default.get("NAME") or ""), str((default.get("TEST") or {}).get("NAME") or "")} - {""}
    if params.get("dbname", params.get("user", "")) not in names:
        return False

    def host(value: str) -> str:
        return "" if value in LOCAL_HOSTS or value.startswith("/") else value

    same_host = host(str(default.get("HOST") or "")) == host(params.get("host", ""))
    return same_host and str(default.get("PORT") or "5432") == params.get("port", "5432")


def check_restore(
    policy: Policy, run: Any, *, mode: str, target: str, target_env: str = "", forced: bool = False
) -> None:
    """Refuse a restore that must not start (raises RestoreRefused); nothing here needs a worker.

    The worker checks again with a connection (existence, where a variable points).
    """
    from .choices import RestoreMode, RunState

    if run is None:
        raise RestoreRefused(f"{policy.name} has no backup to restore.")
    if run.policy_id != policy.pk:
        raise RestoreRefused(f"run #{run.pk} is not a backup of {policy.name}.")
    if not run.location or not run.sha256:
        raise RestoreRefused(f"run #{run.pk} has no stored object to restore.")
    if run.state != RunState.GOOD and not forced:
        raise RestoreRefused(
            f"run #{run.pk} is not verified good (it is {run.get_state_display().lower()}); "
            "tick 'restore anyway' to restore it regardless (the choice is audited)."
        )
    kind = policy.source.kind
    if kind == SourceKind.POSTGRES:
        if mode not in (RestoreMode.NEW_DATABASE, RestoreMode.REPLACE):
            raise RestoreRefused("a PostgreSQL backup restores into a new database or replaces an existing one.")
        if not NAME.match(target):
            raise RestoreRefused("Database names: lower-case letters, digits and underscores, starting with a letter.")
        if target in protected_names(policy):
            raise RestoreRefused(PORTAL_REFUSAL.format(what=repr(target)))
        if mode == RestoreMode.REPLACE:
            from .models.config import ENV_NAME

            if not ENV_NAME.match(target_env or ""):
                raise RestoreRefused(
                    "Name the environment variable that holds the URL of the database to replace "
                    "(capitals, digits, underscores, e.g. RESTORE_TARGET_URL)."
                )
        return
    if mode != RestoreMode.PATH:
        raise RestoreRefused("SQLite and media backups restore into a path.")
    path = Path(target)
    if not target or not path.is_absolute():
        raise RestoreRefused("Give an absolute path, e.g. /srv/restore/portal.sqlite3.")
    if ".." in path.parts:
        raise RestoreRefused("The path cannot contain '..'.")
    if not path.parent.is_dir():
        raise RestoreRefused(f"The folder {path.parent} does not exist.")
    own = portal_sqlite_path()
    if own is not None and path.resolve() == own:
        raise RestoreRefused(PORTAL_REFUSAL.format(what=str(path)))
