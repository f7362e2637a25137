"""Role-matrix routes of maintenance's security half: registry, audits, access review, database care, report."""

from __future__ import annotations

from typing import Any

from maintenance.models import Rotation, Secret
from maintenance.secrets_registry import start_rotation
from tests.role_matrix import ADMIN_ONLY, API_EDIT, API_READ, EDIT, READ, Route, on_success


def _secret(users: dict[str, Any]) -> dict[str, Any]:
    return {"pk": Secret.objects.create(name="Stripe API key", where_used="billing", owner="ada").pk}


def _rotation(users: dict[str, Any]) -> dict[str, Any]:
    secret = Secret.objects.create(name="OpenAI key", where_used="agents")
    rotation: Rotation = start_rotation(secret, users["admin"])
    return {"pk": rotation.pk}


MONTH = {"month": "2026-11"}

ROUTES = [
    Route("maintenance:security", READ),
    Route("maintenance:secrets", ADMIN_ONLY),
    Route("maintenance:secret_create", ADMIN_ONLY),
    Route(
        "maintenance:secret_create",
        on_success(ADMIN_ONLY, 302),
        method="POST",
        data={
            "name": "Mailgun key",
            "where_used": "email",
            "owner": "ada",
            "fingerprint": "9f2c",
            "last_rotated_at": "2026-11-01T10:00",
            "rotation_days": "90",
            "notes": "",
        },
        note="(create)",
    ),
    Route("maintenance:secret", ADMIN_ONLY, setup=_secret),
    Route("maintenance:secret_edit", ADMIN_ONLY, setup=_secret),
    Route("maintenance:rotation_start", on_success(ADMIN_ONLY, 302), method="POST", setup=_secret),
    Route(
        "maintenance:rotation_tick",
        on_success(ADMIN_ONLY, 302),
        method="POST",
        setup=_rotation,
        data={"step": "generate"},
    ),
    Route("maintenance:rotation_cancel", on_success(ADMIN_ONLY, 302), method="POST", setup=_rotation),
    Route("maintenance:findings", READ),
    # An empty upload is refused with a message and a redirect back; the matrix checks who may try.
    Route("maintenance:audit_upload", on_success(EDIT, 302), method="POST", data={"project": "x"}),
    Route(
        "maintenance_api:ingest_audits",
        on_success(API_EDIT, 400),
        method="POST",
        data={"dependencies": []},
        content_type="application/json",
        note="(no project: 400 for the allowed)",
    ),
    Route("maintenance:access_review", ADMIN_ONLY),
    Route("maintenance:access_review_csv", ADMIN_ONLY),
    Route("maintenance:database_care", ADMIN_ONLY),
    Route("maintenance:vacuum_run", on_success(ADMIN_ONLY, 302), method="POST", data={"target": "nope"}),
    Route("maintenance:report", READ),
    Route("maintenance:report_month", READ, setup=lambda users: MONTH),
    Route("maintenance:report_csv", READ, setup=lambda users: MONTH),
    Route("maintenance_api:report", API_READ, setup=lambda users: MONTH),
]
