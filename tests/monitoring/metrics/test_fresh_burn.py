"""Burn-rate pages on a fresh install or a new service: the long window measures the share of the
budget spent in it, and time before the service was watched spends none.

Seen live (`make run`, 22 minutes after the first start): five critical "error budget burning
fast" pages with every service up. Each service had one failed check of about 41 (a restart of
the demo target), which over its watched minutes is 24x the 0.1% budget; the 6 h window held only
those minutes, so "24x over 6 h" paged. With 6 h of history the same check is 1.4x.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from monitoring.metrics.evaluation import evaluate
from monitoring.models import Alert, CheckResult
from monitoring.services import rollups
from tests.monitoring.metrics.factories import ensure_runbook_metrics
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PAGE = "slo:uptime:service:api:page"


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


def checks(minutes: int, failing: range = range(0), every: int = 30) -> None:
    """A check every ``every`` seconds for the last ``minutes``; the checks numbered in ``failing``
    (0 the oldest) fail."""
    api = ServiceFactory(slug="api", name="API", interval_seconds=every)
    start = NOW - dt.timedelta(minutes=minutes)
    CheckResult.objects.bulk_create(
        CheckResult(
            service=api, at=start + dt.timedelta(seconds=every * i + 1), ok=i not in failing,
            latency_ms=20.0, error="" if i not in failing else "503",
        )
        for i in range(minutes * 60 // every)
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        rollups.rollup()
        evaluate(NOW)


def test_one_failed_check_on_a_fresh_service_pages_no_one() -> None:
    checks(20, failing=range(37, 38))  # 40 checks in 20 minutes, one failed 90 s ago
    assert not Alert.objects.filter(dedup_key__startswith="slo:").exists()


def test_one_failed_check_with_a_full_window_pages_no_one_either() -> None:
    checks(7 * 60, failing=range(837, 838))  # 7 hours watched: every page window is full
    assert not Alert.objects.filter(dedup_key__startswith="slo:").exists()


def test_a_real_outage_on_a_fresh_service_still_pages_at_once() -> None:
    checks(20, failing=range(32, 40))  # the last 4 minutes failing: 8 of 40 checks
    page = Alert.objects.get(dedup_key=PAGE, state="firing")
    fast, slow = page.details["rules"]
    # 20% of the watched third of an hour: 200x x 1/3 = 67x over 1 h (2% of the budget needs 14.4x)
    assert fast["firing"] and fast["long_burn"] == pytest.approx(200 / 3, rel=0.02)
    assert fast["coverage"] == pytest.approx(1 / 3, rel=0.02) and fast["short_burn"] == pytest.approx(1000)
    # 4 failing minutes are 9% of the 43-minute budget: the 6 h rule (5% of it) fires too
    assert slow["firing"] and slow["long_burn"] == pytest.approx(200 / 18, rel=0.02)
    assert (
        page.summary
        == "API: error budget of Uptime 99.9% burning fast: 66.7x over 1h (33% of it watched), 1000.0x over 5m; "
        "14.4x needed on both"
    )


def test_a_service_watched_before_the_window_began_covers_all_of_it_even_probed_every_5_minutes() -> None:
    """Its first check inside the last hour comes up to an interval after the hour began: that is not
    a service younger than the window (coverage 1, not 0.92)."""
    checks(7 * 60, failing=range(82, 84), every=300)  # 7 hours, the last two checks (10 minutes) failing
    page = Alert.objects.get(dedup_key=PAGE, state="firing")
    fast, slow = page.details["rules"]
    assert fast["coverage"] == slow["coverage"] == 1.0
    # 2 of the hour's 11 checks (the one at 08:00:01 is in the minute row of 08:00, which a window
    # (08:00, 09:00] leaves out), and nothing taken off for the minutes before its first check
    assert fast["long_burn"] == pytest.approx(1000 * 2 / 11, rel=0.01)
    assert "watched" not in page.summary
