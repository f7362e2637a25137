"""``python manage.py backup run|verify|prune|drill|restore|adopt|list``: the backups app from a shell.

Each action works on the named policies (or ``--all`` enabled ones), prints readable lines and
exits non-zero when anything failed, so cron, CI or an operator can rely on the status.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backups.adopt import Adopted, AdoptRefused, adopt
from backups.choices import DrillKind, RestoreMode, RestoreState, RunState, SourceKind, Trigger
from backups.drills import drill_now
from backups.jobs import AlreadyRunning, latest_good
from backups.metrics import age_badge
from backups.models import BackupRun, Policy
from backups.prune import prune_policy
from backups.restores import restore_now
from backups.runner import run_now
from backups.targets import DrillRefused, RestoreRefused
from backups.verify import reverify_policy, reverify_run
from opsportal import audit


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class Command(BaseCommand):
    help = "Run, verify, prune, drill or list backups (non-zero exit status when anything failed)."
    # System checks import every URLconf and view (~20 MB): a backup process does not need them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["run", "verify", "prune", "drill", "restore", "adopt", "list"])
        parser.add_argument("policies", nargs="*", metavar="POLICY", help="policy slugs")
        parser.add_argument("--all", action="store_true", help="every enabled policy")
        parser.add_argument("--policy", help="adopt: the PostgreSQL policy that takes the old backups in")
        parser.add_argument("--dry-run", action="store_true", help="prune: only show what would be deleted")
        parser.add_argument("--run", type=int, help="verify/drill: this run instead of all kept / the latest good")
        parser.add_argument("--target", help="drill: restore into this named scratch database and keep it")
        parser.add_argument("--confirm", help="drill/restore --target: the target typed again")
        parser.add_argument(
            "--replace-env",
            metavar="VAR",
            help="restore: replace the existing database whose URL is in VAR (it must be the --target database)",
        )
        parser.add_argument(
            "--force", action="store_true", help="restore: even a backup that is not verified good (recorded)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "list":
            self._list(opts["policies"])
            return
        if action == "adopt":
            self._adopt(opts)
            return
        policies = self._policies(opts["policies"], opts["all"])
        failures = getattr(self, f"_{action}")(policies, opts)
        if failures:
            raise CommandError(f"{failures} {action} job{'s' if failures != 1 else ''} failed")

    def _policies(self, slugs: list[str], everything: bool) -> list[Policy]:
        if everything:
            return list(Policy.objects.filter(enabled=True).select_related("source", "destination"))
        if not slugs:
            raise CommandError("name one or more policies, or use --all (see `backup list`)")
        found = {p.slug: p for p in Policy.objects.filter(slug__in=slugs).select_related("source", "destination")}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise CommandError(f"no such policy: {', '.join(missing)}")
        return [found[s] for s in slugs]

    def _line(self, ok: bool, text: str) -> None:
        self.stdout.write(self.style.SUCCESS(text) if ok else self.style.ERROR(text))

    def _run(self, policies: list[Policy], opts: dict[str, Any]) -> int:
        failures = 0
        for policy in policies:
            self.stdout.write(f"{policy.slug}: backing up {policy.source.name} to {policy.destination.name}…")
            try:
                run = run_now(policy, trigger=Trigger.COMMAND)
            except AlreadyRunning as exc:
                self._line(False, f"{policy.slug}: {exc}")
                failures += 1
                continue
            for step in run.steps:
                mark = "ok" if step["ok"] else "FAILED"
                self.stdout.write(f"  {step['label']:<55} {mark:>6} {step['seconds'] or 0:8.2f} s")
            if run.state == RunState.GOOD:
                self._line(
                    True,
                    f"{policy.slug}: run #{run.pk} good: {_size(run.bytes_in)} read, {_size(run.bytes_out)} stored"
                    f" ({run.compression}), sha256 {run.sha256[:16]}…, {run.duration or 0:.1f} s",
                )
            else:
                failures += 1
                self._line(False, f"{policy.slug}: run #{run.pk} FAILED: {run.error}")
        return failures

    def _verify(self, policies: list[Policy], opts: dict[str, Any]) -> int:
        failures = 0
        for policy in policies:
            if opts["run"]:
                run = BackupRun.objects.filter(pk=opts["run"], policy=policy, state=RunState.GOOD).first()
                if run is None:
                    raise CommandError(f"run #{opts['run']} is not a kept backup of {policy.slug}")
                results = [reverify_run(run)]
            else:
                results = reverify_policy(policy)
            if not results:
                self.stdout.write(f"{policy.slug}: no kept backups to verify")
            for result in results:
                self._line(
                    result.ok, f"{policy.slug}: run #{result.run_id} {'ok' if result.ok else 'FAILED'}: {result.detail}"
                )
                failures += 0 if result.ok else 1
        return failures

    def _prune(self, policies: list[Policy], opts: dict[str, Any]) -> int:
        dry = opts["dry_run"]
        failures = 0
        for policy in policies:
            plan = prune_policy(policy, dry_run=dry)
            head = "would keep" if dry else "kept"
            self.stdout.write(
                f"{policy.slug}: {policy.keep_daily} daily / {policy.keep_weekly} weekly / {policy.keep_monthly} monthly"
            )
            for run, why in plan.keep:
                self.stdout.write(
                    f"  {head:<12} #{run.pk:<6} {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}  {', '.join(why)}"
                )
            verb = "would delete" if dry else "deleted"
            for run in plan.delete:
                if dry or run.pk in plan.deleted:
                    self.stdout.write(f"  {verb:<12} #{run.pk:<6} {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}")
            if plan.expired_failed:
                self.stdout.write(f"  {verb} {len(plan.expired_failed)} failed runs older than the catalog keeps")
            for error in plan.errors:
                self._line(False, f"  not deleted: {error}")
            failures += len(plan.errors)
            if dry:
                self.stdout.write("  (dry run: nothing was changed)")
        return failures

    def _drill(self, policies: list[Policy], opts: dict[str, Any]) -> int:
        target = opts.get("target") or ""
        if target and target != opts.get("confirm"):
            raise CommandError("a restore into a named target needs --confirm with the same name")
        if target and len(policies) != 1:
            raise CommandError("restore into a named target works on one policy at a time")
        failures = 0
        for policy in policies:
            run = None
            if opts["run"]:
                run = BackupRun.objects.filter(pk=opts["run"], policy=policy).first()
                if run is None:
                    raise CommandError(f"run #{opts['run']} does not belong to {policy.slug}")
            kind = DrillKind.RESTORE if target else DrillKind.DRILL
            try:
                drill = drill_now(policy, trigger=Trigger.COMMAND, run=run, kind=kind, target=target)
            except (DrillRefused, AlreadyRunning) as exc:
                self._line(False, f"{policy.slug}: {exc}")
                failures += 1
                continue
            for step in drill.steps:
                mark = "ok" if step["ok"] else "FAILED"
                detail = f"  ({step['detail']})" if step.get("detail") else ""
                self.stdout.write(f"  {step['label']:<45} {mark:>6} {step['seconds'] or 0:8.2f} s{detail}")
            if drill.state == "passed":
                self._line(
                    True,
                    f"{policy.slug}: {kind} #{drill.pk} passed ({drill.duration or 0:.1f} s) into {drill.target_name}",
                )
            else:
                failures += 1
                self._line(False, f"{policy.slug}: {kind} #{drill.pk} FAILED: {drill.error}")
        return failures

    def _restore(self, policies: list[Policy], opts: dict[str, Any]) -> int:
        target = opts.get("target") or ""
        if len(policies) != 1 or not target:
            raise CommandError("restore works on one policy: backup restore POLICY --target NAME_OR_PATH --confirm ...")
        if target != opts.get("confirm"):
            raise CommandError("type the target again with --confirm to restore into it")
        policy = policies[0]
        run = latest_good(policy)
        if opts["run"]:
            run = BackupRun.objects.filter(pk=opts["run"], policy=policy).first()
            if run is None:
                raise CommandError(f"run #{opts['run']} does not belong to {policy.slug}")
        if policy.source.kind != SourceKind.POSTGRES:
            mode = RestoreMode.PATH
        else:
            mode = RestoreMode.REPLACE if opts.get("replace_env") else RestoreMode.NEW_DATABASE
        try:
            with audit.acting(None):
                job = restore_now(
                    policy,
                    run=run,
                    mode=mode,
                    target=target,
                    target_env=opts.get("replace_env") or "",
                    forced=opts["force"],
                    trigger=Trigger.COMMAND,
                )
        except (RestoreRefused, AlreadyRunning) as exc:
            raise CommandError(str(exc)) from None
        for step in job.steps:
            mark = "ok" if step["ok"] else "FAILED"
            detail = f"  ({step['detail']})" if step.get("detail") else ""
            self.stdout.write(f"  {step['label']:<60} {mark:>6} {step['seconds'] or 0:8.2f} s{detail}")
        if job.moved_aside:
            self.stdout.write(f"  the previous {target} was moved aside to {job.moved_aside}")
        if job.state == RestoreState.PASSED:
            self._line(
                True,
                f"{policy.slug}: restore #{job.pk} of run #{job.run_id} into {target} done ({job.duration or 0:.1f} s)",
            )
            return 0
        self._line(False, f"{policy.slug}: restore #{job.pk} FAILED: {job.error}")
        return 1

    def _adopt(self, opts: dict[str, Any]) -> None:
        if len(opts["policies"]) != 1 or not opts.get("policy"):
            raise CommandError("usage: backup adopt PATH_OR_S3_PREFIX --policy POLICY")
        policy = self._policies([opts["policy"]], False)[0]
        where = opts["policies"][0]

        def report(item: Adopted) -> None:
            self._line(item.outcome != "failed", f"  {item.outcome:<8} {item.key}: {item.detail}")

        self.stdout.write(f"{policy.slug}: adopting pg_dump files from {where}…")
        try:
            with audit.acting(None):
                results, plan = adopt(policy, where, report=report)
        except AdoptRefused as exc:
            raise CommandError(str(exc)) from None
        good = sum(r.outcome == "good" for r in results)
        failed = sum(r.outcome == "failed" for r in results)
        self.stdout.write(
            f"{policy.slug}: {good} adopted as good, {failed} failed verification, "
            f"{len(results) - good - failed} already known; retention kept {len(plan.keep)}, deleted {len(plan.deleted)}"
        )
        if failed:
            raise CommandError(f"{failed} adopted file{'s' if failed != 1 else ''} failed verification")

    def _list(self, slugs: list[str]) -> None:
        if slugs:
            policies = self._policies(slugs, False)
        else:
            policies = list(Policy.objects.select_related("source", "destination"))
        if not policies:
            self.stdout.write("no backup policies")
            return
        for policy in policies:
            last = policy.runs.filter(state=RunState.GOOD).order_by("-started_at").first()
            _badge, age = age_badge(last.age_hours() if last else None, None)
            nxt = (
                f"{timezone.localtime(policy.next_due_at):%Y-%m-%d %H:%M}"
                if policy.enabled and policy.next_due_at
                else "-"
            )
            self.stdout.write(
                f"{policy.slug:<20} {policy.source.kind:<8} -> {policy.destination.where:<40} "
                f"[{policy.schedule}] next {nxt}  last good: {age}{'' if policy.enabled else '  (disabled)'}"
            )
            if slugs:
                for run in policy.runs.all()[:30]:
                    when = timezone.localtime(run.started_at or run.created_at)
                    extra = ", ".join(run.kept_reasons) if run.state == RunState.GOOD else run.error[:80]
                    self.stdout.write(
                        f"  #{run.pk:<6} {run.state:<9} {when:%Y-%m-%d %H:%M}  {_size(run.bytes_out):>9}  {extra}"
                    )
