"""Browser (issue 9): a demo outage and its recovery, then the alerts page shows no firing alert but
the ones the rules require, and says why the one page left is quiet.

The outage runs through the real pipeline at frozen time (tests/monitoring/outage.py: the demo
target, real probes, rollups, flips, the evaluator and the notifier); Chromium then reads the
alerts page from the live server.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.monitoring.metrics.factories import ensure_runbook_metrics
from tests.monitoring.outage import Install, demo_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _metric_catalog(db: object) -> None:
    ensure_runbook_metrics()  # a transactional test that ran earlier may have flushed it


def test_after_a_demo_outage_and_recovery_only_the_required_page_is_open(
    page: Any, live_server: Any, sign_in: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    with demo_target() as demo:
        install = Install(demo, start)
        install.run(10 * 60)
        install.mode("down")
        install.run(4 * 60)
        install.mode("ok")
        install.run(5 * 60)
        # The rule (see tests/monitoring/metrics/test_outage_as_seen.py): five minutes after a 4-minute
        # outage only the 6x/6h/30m burn-rate page is still open, inhibited as part of the paged outage.
        assert install.firing() == {"slo:uptime:service:demo-api:page"}

    sign_in(page, users["viewer"])
    page.goto(f"{live_server.url}/alerts/?state=open")
    rows = page.locator("[data-testid=alert-row]")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    open_rows = [t for t in texts if "firing" in t.lower() or "acknowledged" in t.lower()]
    assert len(open_rows) == 1, texts
    assert "error budget of Uptime 99.9% burning fast" in open_rows[0]
    assert page.get_by_test_id("held-tag").inner_text().strip() == "inhibited"
    page.screenshot(path=str(tmp_path / "alerts-after-outage.png"), full_page=True)
    page.goto(f"{live_server.url}/")
    dashboard = page.get_by_test_id("dashboard-alerts").inner_text().lower()
    assert "1 firing" in dashboard and "inhibited" in dashboard
