"""Rules for scratch targets of drills: names a drill may create, and names it may never touch."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

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
    prefix = conf.drill_prefix()
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
    return f"{conf.drill_prefix()}{slug}_{stamp}_{secrets.token_hex(2)}"[:63]
