"""SQLite engine: SQLite's online backup API into a scratch copy, streamed from there.

The backup API copies a consistent image even while the portal writes to the file (WAL mode);
row counts are taken from that image. Verification and restores write the decompressed copy
to the scratch directory and run ``PRAGMA integrity_check`` on it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import conf
from .base import DumpFailed, Progress, RestoreFailed, Sink, VerifyFailed
from .postgres import _truthy, run_migrate_check

TARGET_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    return {name: int(conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]) for name in names}  # noqa: S608


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return f"not a readable SQLite database: {exc}"
    finally:
        conn.close()
    return "ok" if rows == ["ok"] else "; ".join(rows[:5])


def write_chunks(chunks: Iterable[bytes], path: Path, progress: Progress) -> None:
    """Write ``chunks`` into a new file ``path`` (never over an existing one), flushed to disk."""
    with open(path, "xb") as fh:
        for chunk in chunks:
            fh.write(chunk)
            progress()
        fh.flush()
        os.fsync(fh.fileno())


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of the file: "ok" or what it found."""
    return _integrity(path)


def count_file(path: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every table's rows in the SQLite file ``path`` against the manifest's counts."""
    expected: dict[str, int] = manifest.get("tables", {})
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with contextlib.closing(conn):
        actual = _counts(conn)
    return [
        {"table": t, "expected": expected.get(t), "actual": actual.get(t), "ok": expected.get(t) == actual.get(t)}
        for t in sorted(set(expected) | set(actual))
    ]


def smoke_file(path: Path, queries: list[str]) -> list[dict[str, Any]]:
    """The smoke queries against the SQLite file ``path``, opened read-only."""
    results = []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with contextlib.closing(conn):
        for query in queries:
            try:
                row = conn.execute(query).fetchone()
            except sqlite3.Error as exc:
                results.append({"query": query, "ok": False, "value": f"error: {exc}"})
                continue
            value = None if row is None else row[0]
            ok = row is not None and _truthy(value)
            results.append({"query": query, "ok": ok, "value": "no rows" if row is None else str(value)})
    return results


@dataclass
class SqliteEngine:
    path: Path
    kind: str = "sqlite"

    def scrub(self, text: str) -> str:
        return text

    def versions(self) -> dict[str, str]:
        return {"sqlite": sqlite3.sqlite_version}

    def expected_size(self) -> int | None:
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def dump(self, sink: Sink, log: Callable[[str], None], progress: Progress) -> dict[str, Any]:
        if not self.path.is_file():
            raise DumpFailed(f"SQLite file {self.path} does not exist")
        copy = conf.scratch_dir() / f"sqlite-dump-{uuid.uuid4().hex}.sqlite3"
        try:
            try:
                src = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
                dst = sqlite3.connect(copy)
                with contextlib.closing(src), contextlib.closing(dst):
                    src.backup(dst, pages=4096, progress=lambda *_: progress())
                    dst.execute("PRAGMA journal_mode=DELETE")
                    counts = _counts(dst)
            except sqlite3.Error as exc:
                raise DumpFailed(f"SQLite online backup failed: {exc}") from None
            log(f"online backup copied {copy.stat().st_size} bytes; {len(counts)} tables")
            with open(copy, "rb") as fh:
                while block := fh.read(conf.BACKUP_CHUNK_BYTES.get()):
                    sink.write(block)
                    progress()
            return {"format": "sqlite file", "database": str(self.path), "tables": counts}
        finally:
            copy.unlink(missing_ok=True)

    def _write_copy(self, chunks: Iterable[bytes], path: Path, progress: Progress) -> None:
        write_chunks(chunks, path, progress)

    def verify(self, chunks: Iterable[bytes], manifest: dict[str, Any], log: Callable[[str], None]) -> str:
        copy = conf.scratch_dir() / f"sqlite-verify-{uuid.uuid4().hex}.sqlite3"
        try:
            self._write_copy(chunks, copy, lambda: None)
            result = _integrity(copy)
            if result != "ok":
                raise VerifyFailed(f"PRAGMA integrity_check on the restored copy: {result}"[:480])
            conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            with contextlib.closing(conn):
                counts = _counts(conn)
            if counts != manifest.get("tables", counts):
                raise VerifyFailed("row counts of the restored copy differ from the manifest")
            return "PRAGMA integrity_check ok on a restored copy"
        finally:
            copy.unlink(missing_ok=True)

    # Restore targets: files in the scratch directory ----------------------------------

    def target_path(self, name: str) -> Path:
        if not TARGET_NAME.match(name):
            raise RestoreFailed(f"{name!r} is not a plain lower-case name")
        return conf.scratch_dir() / f"{name}.sqlite3"

    def own_target_name(self) -> str:
        return self.path.stem

    def target_exists(self, name: str) -> bool:
        return self.target_path(name).exists()

    def create_target(self, name: str) -> None:
        self.target_path(name)

    def restore(self, chunks: Iterable[bytes], name: str, log: Callable[[str], None], progress: Progress) -> None:
        path = self.target_path(name)
        self._write_copy(chunks, path, progress)
        result = _integrity(path)
        if result != "ok":
            raise RestoreFailed(f"PRAGMA integrity_check: {result}"[:480])
        log(f"restored to {path}; integrity_check ok")

    def count_target(self, name: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        return count_file(self.target_path(name), manifest)

    def smoke(self, name: str, queries: list[str]) -> list[dict[str, Any]]:
        return smoke_file(self.target_path(name), queries)

    def migrate_check(self, name: str) -> tuple[bool, str]:
        return run_migrate_check(f"sqlite:///{self.target_path(name)}", self.scrub)

    def drop_target(self, name: str) -> None:
        path = self.target_path(name)
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
