"""Role-matrix routes of the backups app: viewers read every page, admins act and configure."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tests.role_matrix import ADMIN_ONLY, READ, Route, on_success


def catalog(users: dict[str, Any]) -> dict[str, Any]:
    """A policy with one good run and one passed drill (no files needed to render pages); made once."""
    from backups.models import BackupRun, Destination, Policy, RestoreDrill, Source

    made = Policy.objects.filter(slug="nightly").select_related("source", "destination").first()
    if made is not None:  # the accessibility walk opens every page on one set of objects
        run = made.runs.order_by("pk").first()
        drill = RestoreDrill.objects.filter(policy=made).order_by("pk").first()
        return {"policy": made, "run": run, "drill": drill, "source": made.source, "dest": made.destination}

    source = Source.objects.create(name="Shop DB", slug="shop", kind="postgres", url_env="MATRIX_UNSET_DB_URL")
    dest = Destination.objects.create(name="Local", slug="local", kind="local", path="/tmp/backups-matrix")
    policy = Policy.objects.create(name="Nightly", slug="nightly", source=source, destination=dest)
    now = timezone.now()
    run = BackupRun.objects.create(
        policy=policy,
        destination=dest,
        source_kind="postgres",
        state="good",
        started_at=now,
        finished_at=now,
        location="nightly/x.dump.zst",
        sha256="0" * 64,
        bytes_in=1000,
        bytes_out=400,
        manifest={"tables": {"public.t": 3}},
        steps=[{"name": "dump", "label": "Dump", "ok": True, "seconds": 1.5, "detail": ""}],
    )
    drill = RestoreDrill.objects.create(policy=policy, run=run, state="passed", target_name="drill_nightly_x")
    return {"policy": policy, "run": run, "drill": drill, "source": source, "dest": dest}


def slug(users: dict[str, Any]) -> dict[str, Any]:
    return {"slug": catalog(users)["policy"].slug}


def run_pk(users: dict[str, Any]) -> dict[str, Any]:
    return {"pk": catalog(users)["run"].pk}


def drill_pk(users: dict[str, Any]) -> dict[str, Any]:
    return {"pk": catalog(users)["drill"].pk}


def restore_pk(users: dict[str, Any]) -> dict[str, Any]:
    from backups.models import RestoreRun

    made = catalog(users)
    job = RestoreRun.objects.create(
        policy=made["policy"], run=made["run"], mode="new", target="shop_restored", state="passed"
    )
    return {"pk": job.pk}


def source_slug(users: dict[str, Any]) -> dict[str, Any]:
    return {"slug": catalog(users)["source"].slug}


def dest_slug(users: dict[str, Any]) -> dict[str, Any]:
    return {"slug": catalog(users)["dest"].slug}


SOURCE_FORM = {"name": "Media", "slug": "", "kind": "media", "path": "/srv/media"}
DEST_FORM = {"name": "Elsewhere", "slug": "", "kind": "local", "path": "/srv/backups", "region": "us-east-1"}


def policy_form(users: dict[str, Any]) -> dict[str, Any]:
    from backups.models import Destination, Source

    return {
        "name": "Weekly",
        "source": Source.objects.get(slug="shop").pk,
        "destination": Destination.objects.get(slug="local").pk,
        "enabled": "on",
        "schedule": "0 3 * * 0",
        "compression": "zstd",
        "compression_level": 3,
        "keep_daily": 7,
        "keep_weekly": 4,
        "keep_monthly": 12,
        "timeout_minutes": 60,
    }


ADMIN_REDIRECT = on_success(ADMIN_ONLY, 302)

ROUTES = [
    Route("backups:index", READ, setup=lambda u: (catalog(u), {})[1]),
    Route("backups:setup", READ, setup=lambda u: (catalog(u), {})[1]),
    Route("backups:protect_portal", ADMIN_REDIRECT, method="POST"),
    Route("backups:policy", READ, setup=slug),
    Route("backups:run", READ, setup=run_pk),
    Route("backups:drill", READ, setup=drill_pk),
    Route("backups:drill_report", READ, setup=drill_pk),
    Route("backups:run_now", ADMIN_REDIRECT, method="POST", setup=slug),
    Route("backups:verify_now", ADMIN_REDIRECT, method="POST", setup=slug),
    Route("backups:drill_now", ADMIN_REDIRECT, method="POST", setup=slug),
    Route("backups:prune", ADMIN_ONLY, setup=slug),
    Route("backups:prune", ADMIN_REDIRECT, method="POST", setup=slug),
    Route("backups:restore", ADMIN_ONLY, setup=run_pk),
    Route(
        "backups:restore",
        ADMIN_REDIRECT,
        method="POST",
        setup=run_pk,
        data={"target": "drill_matrix_restore", "confirm": "drill_matrix_restore"},
    ),
    Route("backups:restore_to", ADMIN_ONLY, setup=run_pk),
    Route(
        "backups:restore_to",
        ADMIN_REDIRECT,
        method="POST",
        setup=run_pk,
        data={"mode": "new", "target": "shop_restored", "confirm": "shop_restored"},
    ),
    Route("backups:restore_run", READ, setup=restore_pk),
    Route("backups:source_new", ADMIN_ONLY),
    Route("backups:source_new", ADMIN_REDIRECT, method="POST", data=SOURCE_FORM),
    Route("backups:source_edit", ADMIN_ONLY, setup=source_slug),
    Route(
        "backups:source_edit",
        ADMIN_REDIRECT,
        method="POST",
        setup=source_slug,
        data={"name": "Shop DB", "slug": "shop", "kind": "postgres", "url_env": "OTHER_DB_URL"},
    ),
    Route("backups:source_delete", ADMIN_REDIRECT, method="POST", setup=source_slug),
    Route("backups:destination_new", ADMIN_ONLY),
    Route("backups:destination_new", ADMIN_REDIRECT, method="POST", data=DEST_FORM),
    Route("backups:destination_edit", ADMIN_ONLY, setup=dest_slug),
    Route(
        "backups:destination_edit",
        ADMIN_REDIRECT,
        method="POST",
        setup=dest_slug,
        data={"name": "Local", "slug": "local", "kind": "local", "path": "/srv/other", "region": "us-east-1"},
    ),
    Route("backups:destination_delete", ADMIN_REDIRECT, method="POST", setup=dest_slug),
    Route("backups:policy_new", ADMIN_ONLY),
    Route(
        "backups:policy_new",
        ADMIN_REDIRECT,
        method="POST",
        setup=lambda u: (catalog(u), {})[1],
        data=policy_form,
    ),
    Route("backups:policy_edit", ADMIN_ONLY, setup=slug),
    Route("backups:policy_edit", ADMIN_REDIRECT, method="POST", setup=slug, data=policy_form),
    Route("backups:policy_delete", ADMIN_REDIRECT, method="POST", setup=slug),
]
