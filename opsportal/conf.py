"""Strict readers for settings taken from the environment.

A malformed value stops start-up with ImproperlyConfigured naming the variable, instead of
silently falling back to a default. Every reader also accepts ``NAME_FILE``: the value is
read from that file (for secrets mounted by an orchestrator).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
_UNSET = object()


def raw(name: str, default: Any = _UNSET) -> Any:
    """Return the raw string for ``name`` (or ``NAME_FILE``'s content), else ``default``."""
    file_var = f"{name}_FILE"
    if os.environ.get(file_var):
        path = Path(os.environ[file_var])
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_var}: cannot read {path}: {exc.strerror}") from None
    if name in os.environ:
        return os.environ[name]
    if default is _UNSET:
        raise ImproperlyConfigured(f"{name}: this setting is required and is not set")
    return default


def string(name: str, default: Any = _UNSET) -> Any:
    return raw(name, default)


def boolean(name: str, default: bool) -> bool:
    value = raw(name, None)
    if value is None:
        return default
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (true/false/1/0/yes/no), got {value!r}")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name, None)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}")
    return number


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name, None)
    if value is None:
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


def _check_url(name: str, value: str, schemes: set[str] | None) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: not a valid URL") from None
    if not parts.scheme or (schemes is not None and parts.scheme not in schemes):
        allowed = ", ".join(sorted(schemes or [])) or "any"
        raise ImproperlyConfigured(f"{name}: unsupported URL scheme {parts.scheme!r} (allowed: {allowed})")
    return value


def database(name: str, default: str) -> dict[str, Any]:
    value = raw(name, default)
    _check_url(name, value, {"postgres", "postgresql", "pgsql", "sqlite"})
    try:
        return environ.Env.db_url_config(value)
    except Exception:  # noqa: BLE001 - environ raises several types; the message must not echo the URL
        raise ImproperlyConfigured(f"{name}: not a valid database URL") from None


def cache(name: str, default: str) -> dict[str, Any]:
    value = raw(name, default)
    _check_url(name, value, {"locmemcache", "redis", "rediss", "dummycache", "filecache", "dbcache"})
    try:
        return environ.Env.cache_url_config(value)
    except Exception:  # noqa: BLE001
        raise ImproperlyConfigured(f"{name}: not a valid cache URL") from None


def email(name: str, default: str) -> dict[str, Any]:
    value = raw(name, default)
    _check_url(
        name, value, {"smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail", "dummymail"}
    )
    try:
        return environ.Env.email_url_config(value)
    except Exception:  # noqa: BLE001
        raise ImproperlyConfigured(f"{name}: not a valid email URL") from None


def url(name: str, default: str, schemes: set[str] | None = None) -> str:
    return _check_url(name, raw(name, default), schemes)
