"""Browser: an admin starts a backup and watches its page turn good; a viewer only reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backups import helpers
from tests.monitoring.metrics.factories import ensure_runbook_metrics

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> Iterator[Any]:
    from backups import tasks
    from backups.models import Destination, Policy, Source

    ensure_runbook_metrics()  # the age badge is coloured by the Backup Age metric row; a flush may have removed it
    name = helpers.create_source_database(blob_rows=10)
    monkeypatch.setenv("BAK_E2E_SOURCE_URL", helpers.db_url(name))
    settings.BACKUP_DRILL_PREFIX = helpers.PREFIX
    settings.BACKUP_SCRATCH_DIR = str(tmp_path / "scratch")
    settings.BACKUP_HEARTBEAT_SECONDS = 0.2
    sent: list[Any] = []
    monkeypatch.setattr(tasks.execute_run_task, "apply_async", lambda args=None, task_id=None, **kw: sent.append(args))
    source = Source.objects.create(name="Shop DB", slug="shop", kind="postgres", url_env="BAK_E2E_SOURCE_URL")
    (tmp_path / "dest").mkdir()
    dest = Destination.objects.create(name="Local", slug="local", kind="local", path=str(tmp_path / "dest"))
    policy = Policy.objects.create(name="Shop nightly", slug="shop-nightly", source=source, destination=dest)
    yield policy
    helpers.drop_database(name)


def test_admin_runs_a_backup_and_the_run_page_follows_it(
    page: Any, sign_in: Any, live_server: Any, users: dict[str, Any], shop: Any
) -> None:
    from backups import runner

    sign_in(page, users["admin"])
    page.goto(f"{live_server.url}/backups/")
    card = page.locator('[data-testid="policy-shop-nightly"]')
    assert card.locator('[data-testid="age-badge"]').inner_text().lower() == "no good backup"
    card.get_by_role("button", name="Run backup now").click()
    page.wait_for_url(re.compile(r"/backups/runs/\d+/$"))
    assert page.locator('[data-testid="run-state"]').inner_text().lower() == "queued"

    run = shop.runs.get()
    claimed = runner.claim_run(run.pk, task_id=run.celery_task_id)  # what the worker does
    assert claimed is not None
    runner.execute_run(claimed)
    # No reload: htmx polls the page while the run is active and swaps in the result.
    page.wait_for_function(
        "document.querySelector('[data-testid=run-state]').innerText.toLowerCase().includes('good')", timeout=15000
    )
    assert "backup is good" in page.locator('[data-testid="run-log"]').inner_text()

    page.goto(f"{live_server.url}/backups/policies/shop-nightly/")
    assert page.locator(f'svg.bk-retention circle[data-run="{run.pk}"]').count() == 3  # daily, weekly, monthly
    badge = page.locator('[data-testid="age-badge"]')
    assert "st-good" in (badge.get_attribute("class") or "")
    assert re.search(r"just now|\d+ min old", badge.inner_text().lower())


def test_viewer_reads_but_cannot_act(
    page: Any, sign_in: Any, live_server: Any, users: dict[str, Any], shop: Any
) -> None:
    sign_in(page, users["viewer"])
    page.goto(f"{live_server.url}/backups/")
    assert page.locator('[data-testid="policy-shop-nightly"]').is_visible()
    assert page.get_by_role("button", name="Run backup now").count() == 0
    # Even a hand-made request with a valid CSRF token is refused for a viewer.
    status = page.evaluate(
        """async () => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const r = await fetch('/backups/policies/shop-nightly/run/', {method: 'POST', headers: {'X-CSRFToken': token}});
            return r.status;
        }"""
    )
    assert status == 403 and not shop.runs.exists()
