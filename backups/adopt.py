"""Adopting the runbook's old backups: ``db-YYYYMMDD.sql.gz`` (plain SQL, gzip) and ``.dump`` files.

The old cron job (``pg_dump $DATABASE_URL | gzip > db-$(date +%Y%m%d).sql.gz``) left files the
portal never made. Each one is checksummed, then verified the only way that proves a dump: it
is restored into a scratch database (plain SQL through ``psql --single-transaction -v
ON_ERROR_STOP=1``, custom format through ``pg_restore``), its tables counted (those counts become
its manifest, so later drills compare against them) and the scratch database dropped. A plain
dump must also end with pg_dump's "dump complete" line. A file that fails is catalogued as a
failed run (kept where it is, never counted good); the good ones get their date from the file
name (else the file's modification time) and fall under the policy's retention like any other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify

from .choices import Compression, DestinationKind, DumpFormat, RunState, SourceKind, Trigger
from .engines import engine_for
from .engines.base import EngineError
from .engines.postgres import PLAIN_END
from .jobs import reason_for
from .models import BackupRun, Destination, Policy
from .pipeline import read_artifact
from .prune import PrunePlan, prune_policy
from .storage import StorageError
from .targets import new_target_name

log = logging.getLogger(__name__)

DATED = re.compile(r"(?:^|[^0-9])(20\d{2})(\d{2})(\d{2})(?:[^0-9]|$)")
KINDS = ((".sql.gz", Compression.GZIP, DumpFormat.PLAIN), (".dump", Compression.NONE, DumpFormat.CUSTOM))


class AdoptRefused(Exception):
    """Adoption cannot start (a source that is not PostgreSQL, an unreadable place, ...)."""


@dataclass
class Adopted:
    """What happened to one file."""

    key: str
    outcome: str  # "good", "failed" or "skipped"
    detail: str
    run_id: int | None = None


def kind_of(name: str) -> tuple[str, str] | None:
    """(compression, dump format) of an adoptable file name, or None."""
    for suffix, compression, fmt in KINDS:
        if name.endswith(suffix):
            return compression, fmt
    return None


def date_of(name: str, mtime: dt.datetime | None) -> dt.datetime:
    """The backup's time: the date in the name (at 02:00, the runbook's cron time), else the mtime."""
    found = DATED.search(name)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if found:
        try:
            day = dt.date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            day = None
        if day is not None:
            if mtime is not None and mtime.astimezone(zone).date() == day:
                return mtime
            return dt.datetime.combine(day, dt.time(2, 0), tzinfo=zone)
    return mtime or timezone.now()


def destination_for(policy: Policy, where: str) -> Destination:
    """The catalog's Destination for the old backups' folder or S3 prefix (created once)."""
    if where.startswith("s3://"):
        bucket, _, prefix = where[5:].partition("/")
        if not bucket:
            raise AdoptRefused("give the S3 location as s3://bucket/prefix/")
        prefix = prefix.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        base = policy.destination
        fields: dict[str, Any] = {"kind": DestinationKind.S3, "bucket": bucket, "prefix": prefix}
        if base.kind == DestinationKind.S3:  # same endpoint and credentials as the policy's own bucket
            fields.update(
                endpoint_url=base.endpoint_url,
                region=base.region,
                access_key_env=base.access_key_env,
                secret_key_env=base.secret_key_env,
            )
        label = where
    else:
        path = Path(where).resolve()
        if not path.is_dir():
            raise AdoptRefused(f"{where} is not a directory")
        fields = {"kind": DestinationKind.LOCAL, "path": str(path)}
        label = str(path)
    slug = f"adopted-{slugify(label)}"[:100]
    destination, _ = Destination.objects.get_or_create(
        slug=slug, defaults={"name": f"Adopted: {label}"[:100], **fields}
    )
    return destination


def _mtime(storage: Any, key: str) -> dt.datetime | None:
    if hasattr(storage, "root"):
        try:
            return dt.datetime.fromtimestamp((storage.root / key).stat().st_mtime, tz=dt.UTC)
        except OSError:
            return None
    info = storage.head(key)
    return info.get("LastModified") if info else None


def _sha256(storage: Any, key: str) -> str:
    sha = hashlib.sha256()
    for chunk in storage.read(key):
        sha.update(chunk)
    return sha.hexdigest()


class _Tail:
    """Passes chunks through, keeping the last few KB (to find a plain dump's closing line)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks, self.tail = chunks, b""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.tail = (self.tail + bytes(chunk))[-4096:]
            yield chunk


def _verify(
    policy: Policy, storage: Any, key: str, compression: str, fmt: str, sha: str, size: int, lines: list[str]
) -> tuple[int, dict[str, int]]:
    """Restore into a scratch database and count its tables; returns (bytes_in, counts)."""
    engine = engine_for(policy.source)
    scratch = new_target_name(policy)
    stats: dict[str, int] = {}
    engine.create_target(scratch)
    lines.append(f"restoring into the scratch database {scratch}")
    try:
        chunks = _Tail(read_artifact(storage, key, compression, sha256=sha, bytes_out=size, stats=stats))
        engine.restore(
            chunks, scratch, lambda m: lines.append(engine.scrub(m)), lambda: None, plain=fmt == DumpFormat.PLAIN
        )
        if fmt == DumpFormat.PLAIN and PLAIN_END not in chunks.tail:
            raise EngineError("the plain SQL dump does not end with pg_dump's 'dump complete' line (cut off?)")
        counts = {r["table"]: r["actual"] for r in engine.count_target(scratch, {})}
    finally:
        engine.drop_target(scratch)
        lines.append(f"dropped the scratch database {scratch}")
    return stats.get("produced", 0), counts


def adopt_one(policy: Policy, destination: Destination, storage: Any, key: str) -> Adopted:
    """Checksum, verify and catalogue one file as a good or a failed run."""
    compression, fmt = kind_of(key) or (Compression.NONE, DumpFormat.CUSTOM)
    started = date_of(Path(key).name, _mtime(storage, key))
    lines = [f"adopted from {storage.describe(key)} ({fmt}, {compression})"]
    fields: dict[str, Any] = {
        "policy": policy,
        "destination": destination,
        "source_kind": SourceKind.POSTGRES,
        "trigger": Trigger.COMMAND,
        "location": key,
        "compression": compression,
        "compression_level": 0,
        "started_at": started,
        "tool_versions": {"adopted": "made outside the portal (the runbook's cron job)"},
    }
    began = timezone.now()
    try:
        size = storage.size(key) or 0
        sha = _sha256(storage, key)
        fields.update(bytes_out=size, sha256=sha)
        bytes_in, counts = _verify(policy, storage, key, compression, fmt, sha, size, lines)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run; the next file goes on
        reason = str(exc) if isinstance(exc, (EngineError, StorageError)) else reason_for(exc)
        lines.append(f"verification FAILED: {reason}")
        run = BackupRun.objects.create(
            state=RunState.FAILED,
            finished_at=timezone.now(),
            error=f"adopted file failed verification: {reason}"[:500],
            manifest={"format": fmt, "adopted_from": storage.describe(key)},
            log="\n".join(lines),
            **fields,
        )
        return Adopted(key, "failed", reason, run.pk)
    now = timezone.now()
    lines.append(f"restored into a scratch database and counted: {sum(counts.values())} rows in {len(counts)} tables")
    run = BackupRun.objects.create(
        state=RunState.GOOD,
        bytes_in=bytes_in,
        manifest={"format": fmt, "adopted_from": storage.describe(key), "tables": counts},
        verified_at=now,
        verify_count=1,
        finished_at=now,
        steps=[
            {
                "name": "adopt",
                "label": "Checksum and restore-check",
                "ok": True,
                "seconds": round((now - began).total_seconds(), 3),
                "detail": f"{len(counts)} tables",
            }
        ],
        log="\n".join(lines),
        **fields,
    )
    return Adopted(key, "good", f"{len(counts)} tables, {sum(counts.values())} rows", run.pk)


def adopt(
    policy: Policy, where: str, *, report: Callable[[Adopted], None] = lambda _a: None
) -> tuple[list[Adopted], PrunePlan]:
    """Adopt every ``.sql.gz`` and ``.dump`` file directly in ``where``; then apply retention."""
    if policy.source.kind != SourceKind.POSTGRES:
        raise AdoptRefused("only a PostgreSQL policy can adopt pg_dump files")
    destination = destination_for(policy, where)
    try:
        storage = destination.storage()
        keys = [k for k in storage.list_keys() if "/" not in k and kind_of(k)]
    except Exception as exc:  # noqa: BLE001 - S3 errors, missing credentials
        raise AdoptRefused(f"cannot list {where}: {exc}") from None
    known = set(BackupRun.objects.filter(destination=destination).values_list("location", flat=True))
    results = []
    for key in keys:
        if key in known:
            result = Adopted(key, "skipped", "already in the catalog")
        else:
            result = adopt_one(policy, destination, storage, key)
        report(result)
        results.append(result)
    return results, prune_policy(policy)
