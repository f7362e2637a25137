"""Media engine: the directory as one tar stream, with a content digest of every file.

Chosen over an incremental sync by content hash (see backups/README.md): one self-contained
artifact per run means retention, checksums, re-verification and drills treat media exactly
like a database dump, and a restore is ``zstd -d | tar x``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import conf
from .base import DumpFailed, IterReader, Progress, RestoreFailed, Sink, VerifyFailed

TARGET_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MAX_LISTED = 5000  # files whose digests are listed one by one in the manifest


class _HashingFile:
    """Wraps an open file: what tarfile reads is hashed on the way."""

    def __init__(self, fh: Any, progress: Progress) -> None:
        self.fh, self.progress = fh, progress
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        self.progress()
        return data


def tree_digest(entries: dict[str, tuple[int, str]]) -> str:
    """One SHA-256 over every (path, size, sha256), in path order."""
    total = hashlib.sha256()
    for path in sorted(entries):
        size, digest = entries[path]
        total.update(f"{path}\0{size}\0{digest}\n".encode())
    return total.hexdigest()


def _summary(entries: dict[str, tuple[int, str]]) -> dict[str, Any]:
    listed = {p: d for p, (_s, d) in sorted(entries.items())[:MAX_LISTED]} if len(entries) <= MAX_LISTED else {}
    return {
        "files": len(entries),
        "bytes": sum(s for s, _d in entries.values()),
        "tree_sha256": tree_digest(entries),
        "file_sha256": listed,
    }


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


@dataclass
class MediaEngine:
    root: Path
    kind: str = "media"

    def scrub(self, text: str) -> str:
        return text

    def versions(self) -> dict[str, str]:
        return {"tar": "python tarfile (PAX)"}

    def expected_size(self) -> int | None:
        try:
            return sum(p.stat().st_size for p in _walk(self.root) if p.is_file())
        except OSError:
            return None

    def dump(self, sink: Sink, log: Callable[[str], None], progress: Progress) -> dict[str, Any]:
        if not self.root.is_dir():
            raise DumpFailed(f"media directory {self.root} does not exist")
        entries: dict[str, tuple[int, str]] = {}
        skipped = 0
        try:
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for path in _walk(self.root):
                    rel = path.relative_to(self.root).as_posix()
                    st = path.lstat()
                    if stat.S_ISLNK(st.st_mode):
                        tar.add(path, arcname=rel, recursive=False)
                        continue
                    if not stat.S_ISREG(st.st_mode):
                        skipped += 1
                        continue
                    info = tar.gettarinfo(str(path), arcname=rel)
                    with open(path, "rb") as fh:
                        hashing = _HashingFile(fh, progress)
                        tar.addfile(info, hashing)
                    entries[rel] = (info.size, hashing.sha.hexdigest())
        except OSError as exc:
            raise DumpFailed(f"reading the media directory failed: {exc.strerror or exc}") from None
        if skipped:
            log(f"skipped {skipped} entries that are neither files nor symlinks")
        summary = _summary(entries)
        log(f"archived {summary['files']} files, {summary['bytes']} bytes")
        return {"format": "tar (PAX)", "root": str(self.root), **summary}

    def _read_tar(self, chunks: Iterable[bytes], extract_to: Path | None, progress: Progress) -> dict[str, Any]:
        entries: dict[str, tuple[int, str]] = {}
        reader = IterReader(chunks)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    if not member.isfile():
                        if extract_to is not None:
                            tar.extract(member, extract_to, filter="data")
                        continue
                    fh = tar.extractfile(member)
                    assert fh is not None
                    sha = hashlib.sha256()
                    out = None
                    if extract_to is not None:
                        target = extract_to / tarfile.data_filter(member, str(extract_to)).name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        out = open(target, "wb")
                    try:
                        while block := fh.read(1 << 20):
                            sha.update(block)
                            if out is not None:
                                out.write(block)
                            progress()
                    finally:
                        if out is not None:
                            out.close()
                    entries[member.name] = (member.size, sha.hexdigest())
            reader.drain()
        except (tarfile.TarError, EOFError) as exc:
            raise VerifyFailed(f"the tar stream is damaged: {exc}") from None
        return _summary(entries)

    def verify(self, chunks: Iterable[bytes], manifest: dict[str, Any], log: Callable[[str], None]) -> str:
        found = self._read_tar(chunks, None, lambda: None)
        if found["tree_sha256"] != manifest.get("tree_sha256"):
            raise VerifyFailed(f"file digests differ from the manifest ({found['files']} files read)")
        return f"{found['files']} files read back, digests match"

    # Restore targets: directories in the scratch directory ------------------------------

    def target_path(self, name: str) -> Path:
        if not TARGET_NAME.match(name):
            raise RestoreFailed(f"{name!r} is not a plain lower-case name")
        return conf.scratch_dir() / name

    def own_target_name(self) -> str:
        return self.root.name

    def target_exists(self, name: str) -> bool:
        return self.target_path(name).exists()

    def create_target(self, name: str) -> None:
        self.target_path(name).mkdir(parents=True)

    def restore(self, chunks: Iterable[bytes], name: str, log: Callable[[str], None], progress: Progress) -> None:
        try:
            restored = self._read_tar(chunks, self.target_path(name), progress)
        except VerifyFailed as exc:
            raise RestoreFailed(str(exc)) from None
        log(f"extracted {restored['files']} files into {self.target_path(name)}")

    def extract(self, chunks: Iterable[bytes], into: Path, progress: Progress) -> dict[str, Any]:
        """Extract the tar stream into the existing directory ``into``; a summary of what was written."""
        try:
            return self._read_tar(chunks, into, progress)
        except VerifyFailed as exc:
            raise RestoreFailed(str(exc)) from None

    def count_target(self, name: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        return count_tree(self.target_path(name), manifest)

    def smoke(self, name: str, queries: list[str]) -> list[dict[str, Any]]:
        return [{"query": q, "ok": False, "value": "SQL smoke tests do not apply to media"} for q in queries]

    def migrate_check(self, name: str) -> tuple[bool, str]:
        return False, "not a database"

    def drop_target(self, name: str) -> None:
        shutil.rmtree(self.target_path(name), ignore_errors=True)


def count_tree(root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Files, bytes and the content digest of the tree at ``root`` against the manifest."""
    entries: dict[str, tuple[int, str]] = {}
    for path in _walk(root):
        if path.is_file() and not path.is_symlink():
            data = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    data.update(block)
            entries[path.relative_to(root).as_posix()] = (path.stat().st_size, data.hexdigest())
    found = _summary(entries)
    pairs = [
        ("files", manifest.get("files"), found["files"]),
        ("bytes", manifest.get("bytes"), found["bytes"]),
        ("content digest", manifest.get("tree_sha256"), found["tree_sha256"]),
    ]
    return [{"table": t, "expected": e, "actual": a, "ok": e == a} for t, e, a in pairs]
