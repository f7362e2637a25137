"""Real restores: a backup into a new PostgreSQL database, over an existing one, or into a path.

PostgreSQL into a new database: created (same encoding and collation as the source), restored
by ``pg_restore --single-transaction``, then checked. Over an existing database (named by an
environment variable, so no URL is stored): ``pg_restore --clean --if-exists
--single-transaction``, so a failure anywhere rolls back and leaves the database as it was
(see backups/README.md for why this and not a side database swapped in by rename). SQLite and
media restore beside the target first, are checked there, and only then swapped in; an existing
target is moved aside (kept, its new name shown), never overwritten. Every restore ends with the
manifest's row counts and the policy's smoke SQL. The artifact streams from its destination
(S3 included) through the checksum and decompressor straight into pg_restore or the file.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from django.utils import timezone

from .choices import ACTIVE_RESTORE_STATES, RestoreMode, RestoreState, RunState, SourceKind
from .drills import DrillCheckFailed, run_checks
from .engines import engine_for, restore_options
from .engines.base import RestoreFailed
from .engines.media import MediaEngine, count_tree
from .engines.postgres import PostgresEngine
from .engines.sqlite import count_file, integrity, smoke_file, write_chunks
from .jobs import KNOWN_FAILURES, claim_restore, queue_restore, reason_for
from .journal import Journal
from .models import RestoreRun, read_env
from .pipeline import read_artifact
from .targets import PORTAL_REFUSAL, RestoreRefused, check_restore, is_portal_postgres

log = logging.getLogger(__name__)


def _chunks(job: RestoreRun, journal: Journal) -> Any:
    run = job.run
    assert run is not None
    return read_artifact(
        run.destination.storage(),
        run.location,
        run.compression,
        sha256=run.sha256,
        bytes_out=run.bytes_out,
        bytes_in=run.bytes_in,
        progress=journal.beat,
    )


def _checks(job: RestoreRun, journal: Journal, count: Any, smoke: Any, *, migrate: Any = None) -> None:
    assert job.run is not None
    run_checks(
        job,
        job.run.manifest,
        journal,
        count=count,
        smoke=smoke,
        queries=job.policy.smoke_queries(),
        migrate=migrate,
    )


def _new_database(job: RestoreRun, journal: Journal) -> None:
    engine = engine_for(job.policy.source)
    journal.scrub = engine.scrub
    name = job.target
    with journal.step("target", f"Check that {name} is new"):
        if is_portal_postgres(dict(engine.server, dbname=name)):
            raise RestoreRefused(PORTAL_REFUSAL.format(what=repr(name)))
        if engine.target_exists(name):
            raise RestoreRefused(f"{name!r} already exists; choose 'replace an existing database' to restore over it.")
    with journal.step("create", f"Create database {name}"):
        engine.create_target(name)
    try:
        with journal.step("restore", f"Restore into {name} (pg_restore --single-transaction)") as step:
            engine.restore(_chunks(job, journal), name, journal.log, journal.beat, **restore_options(job.run))
            step["detail"] = f"{job.run.bytes_in} bytes restored, checksum verified"
    except BaseException:
        with journal.step("drop", f"Drop the half-restored {name}"):
            engine.drop_target(name)
        raise
    migrate = (lambda: engine.migrate_check(name)) if job.policy.source.is_portal_database else None
    _checks(
        job,
        journal,
        lambda manifest: engine.count_target(name, manifest),
        lambda queries: engine.smoke(name, queries),
        migrate=migrate,
    )
    journal.log(f"restored into the new database {name}")


def _replace_database(job: RestoreRun, journal: Journal) -> None:
    url = read_env(job.target_env, f"restore target {job.target}")
    engine = PostgresEngine(url=url)
    journal.scrub = engine.scrub
    name = engine.dbname
    with journal.step("target", f"Check the database {job.target_env} points at"):
        if name != job.target:
            raise RestoreRefused(
                f"{job.target_env} points at database {name!r}, not {job.target!r} as typed; nothing was changed."
            )
        if is_portal_postgres(engine.source):
            raise RestoreRefused(PORTAL_REFUSAL.format(what=repr(name)))
        if not engine.target_exists(name):
            raise RestoreRefused(f"{name!r} does not exist; choose 'into a new database' instead.")
    with journal.step("restore", f"Replace {name} (pg_restore --clean --if-exists --single-transaction)") as step:
        try:
            engine.restore(
                _chunks(job, journal), name, journal.log, journal.beat, clean=True, **restore_options(job.run)
            )
        except RestoreFailed as exc:
            raise RestoreFailed(f"{exc} (rolled back: {name} is as it was)") from None
        step["detail"] = f"{job.run.bytes_in} bytes restored in one transaction, checksum verified"

    def count(manifest: dict[str, Any]) -> list[dict[str, Any]]:
        rows = engine.count_target(name, manifest)
        extra = [r["table"] for r in rows if r["expected"] is None]
        if extra:  # --clean drops only what the backup recreates: other tables stay, and are no mismatch
            journal.log(f"tables not in the backup, left as they were: {', '.join(extra[:20])}")
        return [dict(r, ok=True) if r["expected"] is None else r for r in rows]

    _checks(job, journal, count, lambda queries: engine.smoke(name, queries))
    journal.log(f"replaced the contents of {name}")


def _move_aside(target: Path, stamp: str, journal: Journal) -> str:
    if not target.exists() and not target.is_symlink():
        return ""
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    os.rename(target, aside)
    for extra in ("-wal", "-shm", "-journal"):
        side = Path(f"{target}{extra}")
        if side.exists():
            os.rename(side, Path(f"{aside}{extra}"))
    journal.log(f"the existing {target} was moved aside to {aside} (kept)")
    return str(aside)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _into_path(job: RestoreRun, journal: Journal) -> None:
    target = Path(job.target)
    kind = job.policy.source.kind
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    staging = target.with_name(f".{target.name}.restoring-{stamp}")
    with journal.step("target", f"Check {target}") as step:
        if kind not in (SourceKind.SQLITE, SourceKind.MEDIA):
            raise RestoreRefused("only SQLite and media backups restore into a path")
        step["detail"] = "exists: it will be moved aside, not overwritten" if target.exists() else "new"
    try:
        with journal.step("restore", f"Restore beside the target ({staging.name})") as step:
            if kind == SourceKind.SQLITE:
                write_chunks(_chunks(job, journal), staging, journal.beat)
                result = integrity(staging)
                if result != "ok":
                    raise RestoreFailed(f"PRAGMA integrity_check: {result}"[:480])
                step["detail"] = "integrity_check ok"
            else:
                staging.mkdir()
                found = MediaEngine(root=staging).extract(_chunks(job, journal), staging, journal.beat)
                step["detail"] = f"{found['files']} files, {found['bytes']} bytes"
        if kind == SourceKind.SQLITE:
            _checks(job, journal, lambda m: count_file(staging, m), lambda q: smoke_file(staging, q))
        else:
            _checks(job, journal, lambda m: count_tree(staging, m), lambda q: [])
        with journal.step("swap", f"Put the restored copy at {target}") as step:
            aside = _move_aside(target, stamp, journal)
            os.rename(staging, target)
            _fsync_dir(target.parent)
            RestoreRun.objects.filter(pk=job.pk).update(moved_aside=aside)
            step["detail"] = f"previous one kept at {aside}" if aside else "nothing was there before"
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()
    journal.log(f"restored into {target}")


def execute_restore(job: RestoreRun) -> RestoreRun:
    """Carry a claimed restore to passed or failed; never raises for a restore failure."""
    journal = Journal(job, active_states=ACTIVE_RESTORE_STATES, timeout_seconds=job.policy.timeout_minutes * 60)
    with journal.pulse():
        return _execute(job, journal)


def _execute(job: RestoreRun, journal: Journal) -> RestoreRun:
    failure: BaseException | None = None
    try:
        with journal.step("choose", "Choose the backup") as step:
            run = job.run
            if run is None or not run.location:
                raise RestoreRefused("the chosen backup is no longer in the catalog")
            check_restore(
                job.policy, run, mode=job.mode, target=job.target, target_env=job.target_env, forced=job.forced
            )
            verified = "verified good" if run.state == RunState.GOOD else f"{run.state}, restored anyway"
            step["detail"] = f"run #{run.pk} of {timezone.localtime(run.started_at or run.created_at):%Y-%m-%d %H:%M}"
            step["detail"] += f", {run.bytes_out} bytes, {verified}"
        {RestoreMode.NEW_DATABASE: _new_database, RestoreMode.REPLACE: _replace_database, RestoreMode.PATH: _into_path}[
            RestoreMode(job.mode)
        ](job, journal)
    except BaseException as exc:
        failure = exc
        if not isinstance(exc, (*KNOWN_FAILURES, RestoreRefused, DrillCheckFailed)):
            log.exception("restore %s crashed", job.pk)
    _finish(job, journal, failure)
    if failure is not None and not isinstance(failure, Exception):
        raise failure
    job.refresh_from_db()
    return job


def _finish(job: RestoreRun, journal: Journal, failure: BaseException | None) -> None:
    fields: dict[str, Any] = {"finished_at": timezone.now()}
    if failure is None:
        fields["state"] = RestoreState.PASSED
        journal.log("restore done; checks passed")
    else:
        reason = str(failure) if isinstance(failure, (RestoreRefused, DrillCheckFailed)) else reason_for(failure)
        fields.update(state=RestoreState.FAILED, error=reason[:500])
        journal.log(f"FAILED: {reason}")
    RestoreRun.objects.filter(pk=job.pk, state__in=ACTIVE_RESTORE_STATES).update(**fields)
    journal.flush()


def restore_now(policy: Any, **kwargs: Any) -> RestoreRun:
    """Queue, claim and execute a restore in this process (the ``backup restore`` command)."""
    job = queue_restore(policy, **kwargs)
    claimed = claim_restore(job.pk)
    assert claimed is not None
    return execute_restore(claimed)
