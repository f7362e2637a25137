"""Backup engines, one per source kind: PostgreSQL, SQLite and media directories.

``engine_for`` and ``verifier_for`` are the one place that picks the engine for a source.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..choices import DumpFormat, SourceKind

if TYPE_CHECKING:
    from .base import Engine


def _build(kind: str, source: Any, *, credentials: bool) -> Engine:
    if kind == SourceKind.POSTGRES:
        from .postgres import PostgresEngine

        if not credentials:
            return PostgresEngine(url="")
        from ..models import read_env

        url = read_env(source.url_env, f"source {source.slug}")
        restore = read_env(source.restore_url_env, f"source {source.slug}") if source.restore_url_env else url
        return PostgresEngine(url=url, restore_url=restore)
    if kind == SourceKind.SQLITE:
        from .sqlite import SqliteEngine

        return SqliteEngine(path=source.sqlite_path())
    from .media import MediaEngine

    return MediaEngine(root=Path(source.path or "/"))


def engine_for(source: Any) -> Engine:
    """The engine that dumps, verifies and restores ``source`` (reads its credentials now)."""
    return _build(source.kind, source, credentials=True)


def verifier_for(run: Any) -> Engine:
    """An engine able to verify ``run``'s artifact; it needs no source credentials."""
    return _build(run.source_kind, run.policy.source, credentials=False)


def restore_options(run: Any) -> dict[str, Any]:
    """Extra arguments of ``engine.restore`` for ``run``'s artifact (a plain SQL dump goes to psql)."""
    if (run.manifest or {}).get("format") == DumpFormat.PLAIN:
        return {"plain": True}
    return {}
