"""A fresh install watched by the real pipeline at frozen time: the demo target, real probes over
loopback HTTP, rollups, flips into alerts, the metric evaluator and the notifier, tick by tick.

``Install.run(seconds)`` advances frozen time in 5-second beats and does what beat would:
probe the due services (every beat), flips, conditions and notifications (every 10 s), rollups
and evaluation (every 60 s).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import time_machine
from django.core.management import call_command

from monitoring.alerts import notify
from monitoring.alerts.alerting import process_flips, reopen_conditions
from monitoring.management.commands.demo_target import DemoServer
from monitoring.metrics.evaluation import evaluate
from monitoring.models import Alert, Service
from monitoring.services.dispatch import claim_due, probe_claimed
from monitoring.services.rollups import rollup

BEAT = 5


@contextmanager
def demo_target() -> Iterator[DemoServer]:
    server = DemoServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Install:
    """The demo target's services on a fresh install, from ``start``; ``now`` moves with ``run``."""

    demo: DemoServer
    start: dt.datetime
    now: dt.datetime = field(init=False)
    evaluations: int = 0

    def __post_init__(self) -> None:
        self.now = self.start
        with time_machine.travel(self.now, tick=False):
            call_command("seed_demo", target_url=self.demo.url, portal_url="http://127.0.0.1:9", verbosity=0)
            Service.objects.filter(slug__startswith="portal-").delete()  # no portal serves them here
            Service.objects.update(next_due_at=self.now)

    def mode(self, mode: str, component: str = "api") -> None:
        httpx.post(f"{self.demo.url}/_control", json={"mode": mode, "component": component}, timeout=5)

    def run(self, seconds: int) -> None:
        end = self.now + dt.timedelta(seconds=seconds)
        while self.now < end:
            self.now += dt.timedelta(seconds=BEAT)
            with time_machine.travel(self.now, tick=False):
                token, due = claim_due(now=self.now)
                if due:
                    probe_claimed(due, token)
                elapsed = int((self.now - self.start).total_seconds())
                if elapsed % 10 == 0:
                    process_flips(now=self.now)
                    reopen_conditions()
                if elapsed % 60 == 0:
                    rollup(now=self.now)
                    evaluate(self.now)
                    self.evaluations += 1
                if elapsed % 10 == 0:
                    notify.run_once(self.now)

    def firing(self) -> set[str]:
        return set(Alert.objects.exclude(state="resolved").values_list("dedup_key", flat=True))
