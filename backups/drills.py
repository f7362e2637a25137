"""Restore drills (the runbook's monthly recovery test) and restores into a named scratch target.

A drill restores the latest good backup into a new scratch database whose name carries the
drill prefix, compares every table's row count with the manifest, runs ``migrate --check`` when
the source is the portal's own database, runs the policy's smoke-test queries and drops the
scratch database. Every step is recorded with its timing and result: the drill row is the
documented result. A restore is the same without the checks' teardown: the target is kept. Queueing and
claiming live in ``jobs``, target-name rules in ``targets``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from opsportal import events

from . import alerting
from .choices import ACTIVE_DRILL_STATES, DrillKind, DrillState, RunState
from .engines import engine_for, restore_options
from .engines.base import Engine, EngineError
from .jobs import KNOWN_FAILURES, claim_drill, queue_drill, reason_for
from .journal import Journal
from .models import BackupRun, Policy, RestoreDrill
from .pipeline import read_artifact
from .targets import DrillRefused, check_target_name

log = logging.getLogger(__name__)


class DrillCheckFailed(EngineError):
    """The restore worked but a check (row counts, migrations, smoke tests) did not pass."""


def execute_drill(drill: RestoreDrill) -> RestoreDrill:
    """Carry a claimed drill to passed or failed; never raises for a drill failure."""
    journal = Journal(drill, active_states=ACTIVE_DRILL_STATES, timeout_seconds=drill.policy.timeout_minutes * 60)
    with journal.pulse():
        return _execute(drill, journal)


def _execute(drill: RestoreDrill, journal: Journal) -> RestoreDrill:
    policy, run, name = drill.policy, drill.run, drill.target_name
    engine: Engine | None = None
    created = False
    failure: BaseException | None = None
    try:
        engine = engine_for(policy.source)
        journal.scrub = engine.scrub
        with journal.step("choose", "Choose the backup") as step:
            if run is None or run.state != RunState.GOOD:
                raise DrillRefused("the chosen backup is no longer kept (pruned or failed)")
            step["detail"] = (
                f"run #{run.pk} of {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}, {run.bytes_out} bytes"
            )
        with journal.step("target", f"Check scratch target {name}"):
            check_target_name(policy, name, engine)
        with journal.step("create", f"Create {name}"):
            engine.create_target(name)
            created = True
        with journal.step("restore", "Restore the backup into it") as step:
            chunks = read_artifact(
                run.destination.storage(),
                run.location,
                run.compression,
                sha256=run.sha256,
                bytes_out=run.bytes_out,
                bytes_in=run.bytes_in,
                progress=journal.beat,
            )
            engine.restore(chunks, name, journal.log, journal.beat, **restore_options(run))
            step["detail"] = f"{run.bytes_in} bytes restored, checksum verified"
        _checks(drill, policy, run, engine, name, journal)
    except BaseException as exc:
        failure = exc
        if not isinstance(exc, (*KNOWN_FAILURES, DrillRefused)):
            log.exception("drill %s crashed", drill.pk)
    finally:
        dropped = False
        if engine is not None and created and (drill.kind == DrillKind.DRILL or failure is not None):
            try:
                with journal.step("drop", f"Drop {name}"):
                    engine.drop_target(name)
                    dropped = True
            except Exception as exc:  # noqa: BLE001
                failure = failure or exc
        _finish(drill, journal, failure, dropped)
    if failure is not None and not isinstance(failure, Exception):
        raise failure
    drill.refresh_from_db()
    return drill


def run_checks(
    job: Any,
    manifest: dict[str, Any],
    journal: Journal,
    *,
    count: Callable[[dict[str, Any]], list[dict[str, Any]]],
    smoke: Callable[[list[str]], list[dict[str, Any]]],
    queries: list[str],
    migrate: Callable[[], tuple[bool, str]] | None = None,
) -> None:
    """Row counts, migrate --check and smoke tests of a drill or restore target, recorded on ``job``.

    All checks run; then any failure raises DrillCheckFailed naming every problem.
    """
    rows_of = type(job).objects.filter(pk=job.pk)
    problems: list[str] = []
    with journal.step("counts", "Compare row counts with the manifest") as step:
        rows = count(manifest)
        rows_of.update(tables=rows)
        bad = [r for r in rows if not r["ok"]]
        step["detail"] = f"{len(rows) - len(bad)} of {len(rows)} match"
        if bad:
            step["ok"] = False
            problems.append(
                "row counts differ: " + ", ".join(f"{r['table']} {r['expected']}→{r['actual']}" for r in bad[:5])
            )
    if migrate is not None:
        with journal.step("migrate", "migrate --check against the restored copy") as step:
            ok, output = migrate()
            step["detail"] = output
            if not ok:
                step["ok"] = False
                problems.append(f"migrate --check: {output}")
    if queries:
        with journal.step("smoke", f"Run {len(queries)} smoke-test queries") as step:
            results = smoke(queries)
            rows_of.update(smoke=results)
            failed = [r for r in results if not r["ok"]]
            step["detail"] = f"{len(results) - len(failed)} of {len(results)} passed"
            if failed:
                step["ok"] = False
                problems.append(f"smoke test failed: {failed[0]['query'][:80]} → {failed[0]['value'][:80]}")
    if problems:
        raise DrillCheckFailed("; ".join(problems))


def _checks(drill: RestoreDrill, policy: Policy, run: BackupRun, engine: Engine, name: str, journal: Journal) -> None:
    run_checks(
        drill,
        run.manifest,
        journal,
        count=lambda manifest: engine.count_target(name, manifest),
        smoke=lambda queries: engine.smoke(name, queries),
        queries=policy.smoke_queries(),
        migrate=(lambda: engine.migrate_check(name)) if policy.source.is_portal_database else None,
    )


def _finish(drill: RestoreDrill, journal: Journal, failure: BaseException | None, dropped: bool) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"finished_at": now, "target_dropped": dropped}
    if failure is None:
        journal.log("drill passed" if drill.kind == DrillKind.DRILL else f"restored into {drill.target_name}")
        fields["state"] = DrillState.PASSED
    else:
        reason = str(failure) if isinstance(failure, DrillRefused) else reason_for(failure)
        journal.log(f"FAILED: {reason}")
        fields.update(state=DrillState.FAILED, error=reason[:500])
    moved = RestoreDrill.objects.filter(pk=drill.pk, state__in=ACTIVE_DRILL_STATES).update(**fields)
    journal.flush()
    if not moved or drill.kind != DrillKind.DRILL:
        return
    if failure is None:
        alerting.drill_passed(drill.policy.slug, drill.pk)
        events.restore_drill_passed.send_robust("backups", drill_id=drill.pk, policy=drill.policy.slug, finished_at=now)
    else:
        alerting.drill_failed(drill.policy.slug, drill.pk, fields["error"], drill.get_absolute_url())


def drill_now(policy: Policy, *, trigger: str, user: Any = None, **kwargs: Any) -> RestoreDrill:
    """Queue, claim and execute a drill in this process (the ``backup drill`` command)."""
    drill = queue_drill(policy, trigger=trigger, user=user, **kwargs)
    claimed = claim_drill(drill.pk)
    assert claimed is not None
    return execute_drill(claimed)
