"""Console pages and actions: what each role sees, forms that refuse bad input, htmx refresh, audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from backups import runner
from backups.choices import RunState, Trigger
from backups.models import BackupRun, Policy, RestoreDrill, Source
from opsportal.models import AuditRecord
from tests.backups import helpers
from tests.backups.conftest import SOURCE_ENV

pytestmark = pytest.mark.django_db


@pytest.fixture
def good_run(pg_policy: Any) -> BackupRun:
    run = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    assert run.state == RunState.GOOD, run.error
    return run


def test_index_shows_age_badge_next_run_and_timeline(client_for: Any, good_run: BackupRun, pg_policy: Any) -> None:
    BackupRun.objects.filter(pk=good_run.pk).update(started_at=timezone.now() - dt.timedelta(hours=30))
    page = client_for("viewer").get(reverse("backups:index")).content.decode()
    assert f'data-testid="policy-{pg_policy.slug}"' in page
    assert 'class="badge st-warning" data-testid="age-badge"' in page and "30 h old" in page
    assert '<svg class="bk-retention"' in page and f'data-run="{good_run.pk}"' in page
    assert "kept (daily, weekly, monthly)" in page
    assert timezone.localtime(pg_policy.next_due_at).strftime("%Y-%m-%d %H:%M") in page
    assert "Run backup now" not in page  # viewers read, they do not act
    assert "Run backup now" in client_for("admin").get(reverse("backups:index")).content.decode()


def test_age_badge_thresholds_follow_the_runbook() -> None:
    from backups.metrics import age_badge, age_limits
    from tests.monitoring.metrics.factories import ensure_runbook_metrics

    ensure_runbook_metrics()
    limits = age_limits()
    assert age_badge(None, limits)[0] == "unknown"
    assert age_badge(23.9, limits)[0] == "good"
    assert age_badge(30, limits)[0] == "warning"
    assert age_badge(49, limits)[0] == "critical"


def test_age_badge_reads_the_backup_age_metric_row() -> None:
    """Once an admin edits the Backup Age thresholds, the badge agrees with what alerts."""
    from backups.metrics import age_badge, age_limits
    from monitoring.models import Metric
    from tests.monitoring.metrics.factories import ensure_runbook_metrics

    ensure_runbook_metrics()
    Metric.objects.filter(key="backup_age").update(target=12, alert_threshold=20)
    limits = age_limits()
    assert age_badge(11, limits)[0] == "good"
    assert age_badge(13, limits)[0] == "warning"
    assert age_badge(23.9, limits)[0] == "critical"


def test_run_page_refreshes_while_active_and_shows_the_catalog(client_for: Any, good_run: BackupRun) -> None:
    client = client_for("viewer")
    page = client.get(good_run.get_absolute_url()).content.decode()
    assert good_run.sha256 in page and "hx-trigger" not in page
    assert "public.customers" in page and "Verify: re-read" in page
    assert helpers.PASSWORD not in page
    BackupRun.objects.filter(pk=good_run.pk).update(state=RunState.RUNNING)
    BackupRun.objects.filter(pk=good_run.pk).update(state=RunState.RUNNING)
    fragment = client.get(good_run.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="run-body" hx-get=') and 'hx-trigger="every 2s"' in fragment
    assert "<html" not in fragment


def test_run_now_queues_a_task_with_the_stored_id(
    client_for: Any, pg_policy: Any, _no_broker: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("admin").post(reverse("backups:run_now", args=[pg_policy.slug]))
    run = pg_policy.runs.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.state == RunState.QUEUED and run.trigger == Trigger.MANUAL
    assert _no_broker == [("backups.execute_run", [run.pk], run.celery_task_id)]
    created = AuditRecord.objects.get(object_type="backups.backuprun", action="create")
    assert created.actor_name == "ada-admin" and created.channel == "console"
    # A second click while it is queued is refused with a message, not a second run.
    response = client_for("admin").post(reverse("backups:run_now", args=[pg_policy.slug]), follow=True)
    assert "already queued or running" in response.content.decode() and pg_policy.runs.count() == 1


def test_drill_now_without_a_good_backup_says_so(client_for: Any, pg_policy: Any) -> None:
    response = client_for("admin").post(reverse("backups:drill_now", args=[pg_policy.slug]), follow=True)
    assert "has no good backup to restore yet" in response.content.decode()
    assert not RestoreDrill.objects.exists()


def test_restore_requires_typing_the_name(client_for: Any, good_run: BackupRun, pg_source_env: str) -> None:
    url = reverse("backups:restore", args=[good_run.pk])
    client = client_for("admin")
    cases = {
        ("drill_t_copy", "drill_t_cpy"): "The names differ",
        ("prod_copy", "prod_copy"): "must start with the drill prefix",
        (pg_source_env, pg_source_env): "the source&#x27;s own database",
    }
    for (target, confirm), message in cases.items():
        response = client.post(url, {"target": target, "confirm": confirm})
        assert response.status_code == 200 and message in response.content.decode(), message
    assert not RestoreDrill.objects.exists()
    response = client.post(url, {"target": "drill_t_copy", "confirm": "drill_t_copy"})
    drill = RestoreDrill.objects.get()
    assert response.status_code == 302 and drill.kind == "restore" and drill.target_name == "drill_t_copy"


def test_prune_page_is_a_dry_run_until_posted(client_for: Any, good_run: BackupRun, pg_policy: Any) -> None:
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    BackupRun.objects.filter(pk=good_run.pk).update(started_at=noon)
    middle = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    BackupRun.objects.filter(pk=middle.pk).update(started_at=noon + dt.timedelta(hours=1))
    newest = runner.run_now(pg_policy, trigger=Trigger.COMMAND)
    BackupRun.objects.filter(pk=newest.pk).update(started_at=noon + dt.timedelta(hours=2))
    # Three backups on one day: the newest is the daily one, the first is kept as the oldest.
    client = client_for("admin")
    page = client.get(reverse("backups:prune", args=[pg_policy.slug])).content.decode()
    assert "dry run" in page and "Would delete (1 backups" in page
    assert f'href="{middle.get_absolute_url()}">#{middle.pk}</a></td><td>' in page.split("Would delete")[1]
    folder = Path(pg_policy.destination.path)
    assert (folder / middle.location).exists()  # nothing changed by looking

    response = client.post(reverse("backups:prune", args=[pg_policy.slug]), follow=True)
    assert "Pruned 1 backups" in response.content.decode()
    middle.refresh_from_db()
    assert middle.state == RunState.PRUNED and not (folder / middle.location).exists()
    assert (folder / good_run.location).exists() and (folder / newest.location).exists()
    good_run.refresh_from_db()
    assert good_run.kept_reasons == ["oldest"]
    record = AuditRecord.objects.get(object_type="backups.policy", action="action", summary__startswith="pruned")
    assert record.changes["deleted"] == [middle.pk] and record.actor_name == "ada-admin"


def test_forms_refuse_bad_input(client_for: Any, pg_policy: Any) -> None:
    client = client_for("admin")
    bad_source = client.post(reverse("backups:source_new"), {"name": "X", "kind": "postgres", "url_env": "db-url"})
    assert "Use an environment variable name" in bad_source.content.decode()
    no_url = client.post(reverse("backups:source_new"), {"name": "X", "kind": "postgres"})
    assert "needs the name of the variable" in no_url.content.decode()
    creds = client.post(
        reverse("backups:destination_new"),
        {"name": "S3", "kind": "s3", "bucket": "b", "endpoint_url": "https://key:secret@s3.example.com", "region": "x"},
    )
    assert "Do not put credentials in the URL" in creds.content.decode()
    base = {
        "name": "P",
        "source": pg_policy.source.pk,
        "destination": pg_policy.destination.pk,
        "compression": "zstd",
        "compression_level": 3,
        "keep_daily": 7,
        "keep_weekly": 4,
        "keep_monthly": 12,
        "timeout_minutes": 60,
    }
    for change, message in (
        ({"schedule": "every night"}, "five-field cron expression"),
        ({"schedule": "0 2 * * *", "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}, "Keep at least one"),
        ({"schedule": "0 2 * * *", "slug": "new"}, "reserved"),
        ({"schedule": "0 2 * * *", "compression": "gzip", "compression_level": 12}, "gzip levels are 1-9"),
    ):
        response = client.post(reverse("backups:policy_new"), {**base, **change})
        assert response.status_code == 200 and message in response.content.decode(), message
    assert Policy.objects.count() == 1
    ok = client.post(reverse("backups:policy_new"), {**base, "schedule": "15 3 * * *"})
    assert ok.status_code == 302 and Policy.objects.get(slug="p").schedule == "15 3 * * *"
    record = AuditRecord.objects.get(
        object_type="backups.policy", action="create", object_id=str(Policy.objects.get(slug="p").pk)
    )
    assert record.changes["schedule"] == [None, "15 3 * * *"] and record.actor_name == "ada-admin"


def test_setup_shows_variable_names_never_values(client_for: Any, pg_policy: Any) -> None:
    page = client_for("viewer").get(reverse("backups:setup")).content.decode()
    assert SOURCE_ENV in page and "set</span>" in page
    assert helpers.PASSWORD not in page and "postgres://" not in page


def test_policy_with_kept_backups_cannot_be_deleted(client_for: Any, good_run: BackupRun, pg_policy: Any) -> None:
    response = client_for("admin").post(reverse("backups:policy_delete", args=[pg_policy.slug]), follow=True)
    assert "disable it instead" in response.content.decode()
    assert Policy.objects.filter(pk=pg_policy.pk).exists()
    used = client_for("admin").post(reverse("backups:source_delete", args=[pg_policy.source.slug]), follow=True)
    assert "is used by" in used.content.decode() and Source.objects.filter(pk=pg_policy.source.pk).exists()


def test_drill_pages_and_printable_report(client_for: Any, good_run: BackupRun, pg_policy: Any) -> None:
    from backups.drills import drill_now

    drill = drill_now(pg_policy, trigger=Trigger.MANUAL)
    client = client_for("viewer")
    page = client.get(drill.get_absolute_url()).content.decode()
    assert "Row counts: manifest vs restored" in page and "public.orders" in page and "hx-trigger" not in page
    report = client.get(reverse("backups:drill_report", args=[drill.pk])).content.decode()
    assert "Disaster recovery test: PASSED" in report and good_run.sha256 in report
    assert "Smoke tests" in report and "window.print()" in report


def test_one_click_self_backup_of_the_portal(client_for: Any, settings: Any) -> None:
    client = client_for("admin")
    assert "Back up the portal itself nightly" in client.get(reverse("backups:index")).content.decode()
    response = client.post(reverse("backups:protect_portal"))
    policy = Policy.objects.get(slug="ops-portal")
    assert response.status_code == 302 and response["Location"] == policy.get_absolute_url()
    assert policy.source.is_portal_database and policy.schedule == "0 2 * * *"
    # The test portal runs on PostgreSQL: its URL comes from DATABASE_URL, as in production.
    assert policy.source.kind == "postgres" and policy.source.url_env == "DATABASE_URL"
    assert policy.destination.path == str(Path(settings.DATA_DIR) / "backups")
    client.post(reverse("backups:protect_portal"))
    assert Policy.objects.filter(slug="ops-portal").count() == 1  # idempotent


def _policies_with_history(make_policy: Any, count: int) -> None:
    """``count`` policies, each with good runs over several days, a failed run and a drill."""
    now = timezone.now()
    for _ in range(count):
        policy = make_policy()
        for day in range(4):
            started = now - dt.timedelta(days=day, hours=1)
            BackupRun.objects.create(
                policy=policy,
                destination=policy.destination,
                source_kind="postgres",
                state=RunState.GOOD,
                created_at=started,
                started_at=started,
                bytes_out=1000,
            )
        BackupRun.objects.create(
            policy=policy, destination=policy.destination, source_kind="postgres", state=RunState.FAILED, error="x"
        )
        RestoreDrill.objects.create(policy=policy, state="passed", target_name="drill_x")


def test_index_and_setup_queries_do_not_grow_with_policies(
    client_for: Any, make_policy: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for("admin")
    counts = {}
    for total in (1, 6):
        _policies_with_history(make_policy, total - Policy.objects.count())
        for name in ("backups:index", "backups:setup"):
            with CaptureQueriesContext(connection) as ctx:
                page = client.get(reverse(name)).content.decode()
            assert page.count("/backups/policies/") >= total
            counts[name, total] = len(ctx.captured_queries)
    assert counts["backups:index", 6] == counts["backups:index", 1], counts
    assert counts["backups:setup", 6] == counts["backups:setup", 1], counts
    with django_assert_max_num_queries(13):  # + the Backup Age Metric row, read once for every badge
        page = client.get(reverse("backups:index")).content.decode()
    # The prefetched values are the right ones: last run failed, four good runs kept.
    assert page.count("4 kept") == 6 and page.count('badge st-failed">failed') >= 6
