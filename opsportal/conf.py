"""The one settings mechanism: every part declares its settings here once, and reads them here.

A declaration is one line next to the part that uses it (``monitoring/alerts/conf.py``)::

    NOTIFY_BATCH = conf.Int("NOTIFY_BATCH", 500, "Outbox rows one notification pass claims.", minimum=1)

and a call site reads ``alerts_conf.NOTIFY_BATCH.get()``: a Django setting of that name when one is
set (tests override there), else the environment (``NAME`` or the content of the file named by
``NAME_FILE``), else the declared default. Django's own settings in ``opsportal/settings.py`` use
the reader functions (``conf.integer("SESSION_HOURS", 12, "...", minimum=1)``), which declare and
read in one call. A malformed or out-of-range value stops start-up (``validate()`` runs from the
core app's ``ready()``) with ImproperlyConfigured naming the variable, never echoing a URL.
``.env.example`` and the README's settings table are generated from the declarations
(``python manage.py settings_reference --write``) and a test keeps them equal.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
_UNSET: Any = object()
REQUIRED: Any = _UNSET

#: Every declared setting by name, in declaration order.
DECLARED: dict[str, Setting] = {}


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


def _declaring_module() -> str:
    """The module whose code declared a setting: the first caller outside this module."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


def _django_value(name: str) -> Any:
    """The Django setting ``name`` once settings are configured (tests override there), else None."""
    django_settings = sys.modules.get("django.conf")
    if django_settings is None or not django_settings.settings.configured:
        return None
    return getattr(django_settings.settings, name, None)


class Setting:
    """One declared setting: name, type, default, bounds and one line of meaning.

    ``default`` may be a callable (computed when read, e.g. from DATA_DIR); ``shown`` is then how
    the default is written in the reference. ``secret`` settings never show a value.
    """

    kind: ClassVar[str] = "text"

    def __init__(
        self,
        name: str,
        default: Any,
        meaning: str = "",
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        shown: str | None = None,
        secret: bool = False,
    ) -> None:
        self.name = name
        self.default = default
        self.meaning = meaning
        self.minimum = minimum
        self.maximum = maximum
        self.shown = shown
        self.secret = secret
        self.module = _declaring_module()
        previous = DECLARED.get(name)
        if previous is not None and previous.module != self.module:
            raise ImproperlyConfigured(f"{name}: declared twice ({previous.module} and {self.module})")
        DECLARED[name] = self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # -- reading ------------------------------------------------------------------------------
    def get(self) -> Any:
        """The value: a Django setting of this name if set, else the environment, else the default."""
        override = _django_value(self.name)
        if override is not None:
            return self.check(override if not isinstance(override, str) else self.parse(override))
        return self.from_env()

    def from_env(self) -> Any:
        text = raw(self.name, None)
        if text is None:
            if self.default is _UNSET:
                raise ImproperlyConfigured(f"{self.name}: this setting is required and is not set")
            return self.default() if callable(self.default) else self.default
        return self.check(self.parse(text))

    def parse(self, text: str) -> Any:
        return text

    def check(self, value: Any) -> Any:
        if self.minimum is not None and value < self.minimum:
            raise ImproperlyConfigured(f"{self.name}: must be at least {self.minimum:g}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ImproperlyConfigured(f"{self.name}: must be at most {self.maximum:g}, got {value}")
        return value

    # -- reference ----------------------------------------------------------------------------
    @property
    def part(self) -> str:
        """Which part declared it: ``portal`` for opsportal, else the declaring package."""
        module = self.module.removesuffix(".conf")
        return "portal" if module.startswith("opsportal") else module

    def default_text(self) -> str:
        """The default as it is written in ``.env.example`` (empty for secrets and computed defaults)."""
        if self.secret or self.shown is not None or callable(self.default) or self.default in (None, _UNSET):
            return ""
        return self.format(self.default)

    def format(self, value: Any) -> str:
        return str(value)

    def reference_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is _UNSET:
            return "required"
        text = self.default_text()
        return text if text else "empty"


class Text(Setting):
    """A string; ``choices`` limits it to a few words."""

    def __init__(self, name: str, default: Any, meaning: str = "", *, choices: Iterable[str] = (), **kw: Any) -> None:
        super().__init__(name, default, meaning, **kw)
        self.choices = tuple(choices)

    def check(self, value: Any) -> Any:
        if self.choices and value not in self.choices:
            raise ImproperlyConfigured(f"{self.name}: expected one of {', '.join(self.choices)}, got {value!r}")
        return value


class Bool(Setting):
    kind = "boolean"

    def parse(self, text: str) -> bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ImproperlyConfigured(f"{self.name}: expected a boolean (true/false/1/0/yes/no), got {text!r}")

    def check(self, value: Any) -> bool:
        return bool(value)

    def format(self, value: Any) -> str:
        return "true" if value else "false"


class Int(Setting):
    kind = "integer"

    def parse(self, text: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{self.name}: expected a whole number, got {text!r}") from None

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ImproperlyConfigured(f"{self.name}: expected a whole number, got {value!r}")
        return super().check(value)


class Number(Setting):
    """A number, fractions allowed (seconds, ratios)."""

    kind = "number"

    def parse(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{self.name}: expected a number, got {text!r}") from None

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ImproperlyConfigured(f"{self.name}: expected a number, got {value!r}")
        return super().check(float(value))

    def format(self, value: Any) -> str:
        return f"{value:g}"


class Seconds(Number):
    """A duration in seconds (fractions allowed), never negative."""

    kind = "seconds"

    def __init__(self, name: str, default: Any, meaning: str = "", **kw: Any) -> None:
        kw.setdefault("minimum", 0)
        super().__init__(name, default, meaning, **kw)

    def parse(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{self.name}: expected a number of seconds, got {text!r}") from None


class List(Setting):
    """Comma-separated words."""

    kind = "list"

    def parse(self, text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    def check(self, value: Any) -> list[str]:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ImproperlyConfigured(f"{self.name}: expected a comma-separated list")
        return [str(v) for v in value]

    def from_env(self) -> Any:
        value = super().from_env()
        return list(value) if isinstance(value, list | tuple) else value

    def format(self, value: Any) -> str:
        return ",".join(value)


class Choice(Text):
    """One of a few words, case-insensitive (``none``, ``admins``, ``everyone``)."""

    kind = "choice"

    def parse(self, text: str) -> str:
        return text.strip().lower()


class Networks(List):
    """Comma-separated networks such as ``10.0.0.0/8, fd00::/8``."""

    kind = "networks"

    def check(self, value: Any) -> list[str]:
        import ipaddress

        values = super().check(value)
        for each in values:
            try:
                ipaddress.ip_network(each, strict=False)
            except ValueError:
                raise ImproperlyConfigured(f"{self.name}: {each[:50]!r} is not a network such as 10.0.0.0/8") from None
        return values


class Url(Setting):
    """A URL with one of ``schemes``; errors name the variable and never echo the value."""

    kind = "url"
    schemes: ClassVar[frozenset[str] | None] = None
    config: ClassVar[Callable[[str], Any] | None] = None

    def __init__(self, name: str, default: Any, meaning: str = "", *, schemes: Iterable[str] = (), **kw: Any) -> None:
        super().__init__(name, default, meaning, **kw)
        self.allowed = frozenset(schemes) or self.schemes

    def parse(self, text: str) -> Any:
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise ImproperlyConfigured(f"{self.name}: not a valid URL") from None
        if not parts.scheme or (self.allowed is not None and parts.scheme not in self.allowed):
            allowed = ", ".join(sorted(self.allowed or [])) or "any"
            raise ImproperlyConfigured(f"{self.name}: unsupported URL scheme {parts.scheme!r} (allowed: {allowed})")
        if self.config is None:
            return text
        try:
            return type(self).config(text)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - environ raises several types; the message must not echo the URL
            raise ImproperlyConfigured(f"{self.name}: not a valid {self.kind}") from None

    def check(self, value: Any) -> Any:
        return value

    def from_env(self) -> Any:
        text = raw(self.name, None)
        if text is None and isinstance(self.default, str):
            return self.parse(self.default)
        return super().from_env()


class DatabaseUrl(Url):
    kind = "database URL"
    schemes = frozenset({"postgres", "postgresql", "pgsql", "sqlite"})
    config = staticmethod(environ.Env.db_url_config)


class CacheUrl(Url):
    kind = "cache URL"
    schemes = frozenset({"locmemcache", "redis", "rediss", "dummycache", "filecache", "dbcache"})
    config = staticmethod(environ.Env.cache_url_config)


class EmailUrl(Url):
    kind = "email URL"
    schemes = frozenset({"smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail", "dummymail"})
    config = staticmethod(environ.Env.email_url_config)


# -- readers for opsportal/settings.py: declare and read from the environment in one call ------
def string(name: str, default: Any = _UNSET, meaning: str = "", **kw: Any) -> Any:
    return Text(name, default, meaning, **kw).from_env()


def boolean(name: str, default: bool, meaning: str = "", **kw: Any) -> bool:
    return Bool(name, default, meaning, **kw).from_env()


def integer(name: str, default: int, meaning: str = "", *, minimum: int | None = None, **kw: Any) -> int:
    return Int(name, default, meaning, minimum=minimum, **kw).from_env()


def number(name: str, default: float, meaning: str = "", **kw: Any) -> float:
    return Number(name, default, meaning, **kw).from_env()


def string_list(name: str, default: list[str], meaning: str = "", **kw: Any) -> list[str]:
    return List(name, list(default), meaning, **kw).from_env()


def choice(name: str, default: str, choices: tuple[str, ...], meaning: str = "", **kw: Any) -> str:
    return Choice(name, default, meaning, choices=choices, **kw).from_env()


def cidr_list(name: str, default: list[str], meaning: str = "", **kw: Any) -> list[str]:
    return Networks(name, list(default), meaning, **kw).from_env()


def url(name: str, default: str, schemes: set[str] | None = None, meaning: str = "", **kw: Any) -> str:
    return Url(name, default, meaning, schemes=schemes or (), **kw).from_env()


def database(name: str, default: str, meaning: str = "", **kw: Any) -> dict[str, Any]:
    return DatabaseUrl(name, default, meaning, **kw).from_env()


def cache(name: str, default: str, meaning: str = "", **kw: Any) -> dict[str, Any]:
    return CacheUrl(name, default, meaning, **kw).from_env()


def email(name: str, default: str, meaning: str = "", **kw: Any) -> dict[str, Any]:
    return EmailUrl(name, default, meaning, **kw).from_env()


# -- start-up ---------------------------------------------------------------------------------
def discover() -> None:
    """Import every ``conf.py`` of the project's apps and their sub-packages (one level down)."""
    from django.apps import apps
    from django.conf import settings

    base = Path(settings.BASE_DIR).resolve()
    for app in apps.get_app_configs():
        root = Path(app.path).resolve()
        if root.parent != base:
            continue  # a third-party app
        for path in sorted([*root.glob("conf.py"), *root.glob("*/conf.py")]):
            relative = path.relative_to(root).with_suffix("")
            importlib.import_module(".".join((app.name, *relative.parts)))


def validate() -> None:
    """Read every declared setting once, so a malformed value stops the process at start-up."""
    discover()
    for declared in list(DECLARED.values()):
        if declared.module.endswith(".settings"):
            continue  # read by opsportal/settings.py itself while Django started
        declared.get()
