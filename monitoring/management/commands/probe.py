"""python manage.py probe [SLUG ...] [--all] [--json]: run a probe sweep now and print the results."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.services.choices import ServiceStatus
from monitoring.services.dispatch import SweepReport, probe_now, run_due
from monitoring.services.models import Service


class Command(BaseCommand):
    help = (
        "Probe services now and record the results: the given slugs, --all enabled services, or (with "
        "neither) the services that are due. Prints a table or JSON lines; exits 1 when any probed "
        "service is down."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", metavar="SLUG", help="services to probe")
        parser.add_argument("--all", action="store_true", help="probe every enabled service")
        parser.add_argument("--json", action="store_true", help="print one JSON object per line")
        parser.add_argument("--concurrency", type=int, default=None, help="probes in flight at once")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs: list[str] = options["slugs"]
        if slugs and options["all"]:
            raise CommandError("give service slugs or --all, not both")
        skipped: list[tuple[Service, str]] = []
        if slugs:
            found = {s.slug: s for s in Service.objects.filter(slug__in=slugs)}
            unknown = [s for s in slugs if s not in found]
            if unknown:
                raise CommandError(f"unknown service slug(s): {', '.join(unknown)}")
            services = [found[s] for s in dict.fromkeys(slugs)]
            skipped = [(s, "paused") for s in services if not s.enabled]
            report = probe_now([s for s in services if s.enabled], concurrency=options["concurrency"])
        elif options["all"]:
            report = probe_now(list(Service.objects.filter(enabled=True)), concurrency=options["concurrency"])
        else:
            report = run_due(concurrency=options["concurrency"])
        busy = set(report.busy)
        skipped += [(s, "being probed by a worker") for s in Service.objects.filter(slug__in=busy)]
        if options["json"]:
            self._json_lines(report, skipped)
        else:
            self._table(report, skipped)
        if any(service.status == ServiceStatus.DOWN for service, _ in report.rows):
            sys.exit(1)

    def _json_lines(self, report: SweepReport, skipped: list[tuple[Service, str]]) -> None:
        flipped = {f.service_id for f in report.flips}
        for service, outcome in report.rows:
            line = {
                "slug": service.slug,
                "status": service.status,
                "ok": outcome.ok,
                "degraded": outcome.degraded,
                "latency_ms": outcome.latency_ms,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "checked_at": outcome.checked_at.isoformat(),
                "status_changed": service.pk in flipped,
            }
            self.stdout.write(json.dumps(line))
        for service, why in skipped:
            self.stdout.write(json.dumps({"slug": service.slug, "status": service.effective_status, "skipped": why}))

    def _table(self, report: SweepReport, skipped: list[tuple[Service, str]]) -> None:
        rows = [("SERVICE", "STATUS", "RESULT", "LATENCY", "DETAIL")]
        for service, outcome in sorted(report.rows, key=lambda r: r[0].slug):
            result = "failed" if not outcome.ok else ("slow" if outcome.degraded else "ok")
            latency = f"{outcome.latency_ms:.0f} ms" if outcome.latency_ms is not None else "-"
            detail = outcome.error or (f"HTTP {outcome.status_code}" if outcome.status_code else "")
            rows.append((service.slug, service.status, result, latency, detail))
        for service, why in skipped:
            rows.append((service.slug, service.effective_status, "skipped", "-", why))
        if len(rows) == 1:
            self.stdout.write("Nothing to probe (no service is due; give slugs or --all).")
            return
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
            self.stdout.write("  ".join(cells).rstrip())
        self.stdout.write(
            f"\n{report.probed} probed in {report.sweep_seconds:.2f} s, {report.failed} failed, "
            f"{len(report.flips)} status change(s)."
        )
