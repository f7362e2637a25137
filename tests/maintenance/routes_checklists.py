"""Role-matrix routes of checklists: everyone with a role reads, editors tick, admins edit templates."""

from __future__ import annotations

from typing import Any

from tests.role_matrix import ADMIN_ONLY, EDIT, READ, Route, on_success


def _period(users: dict[str, Any]) -> dict[str, Any]:
    from tests.maintenance.fixtures import daily_period

    return {"pk": daily_period().pk}


def _item(users: dict[str, Any]) -> dict[str, Any]:
    from tests.maintenance.fixtures import daily_item

    return {"pk": daily_item().pk}


def _ticked_item(users: dict[str, Any]) -> dict[str, Any]:
    from maintenance.checklists import tick
    from tests.maintenance.fixtures import daily_item

    item = daily_item("Monitor error rates")
    tick(item, users["editor"], note="fine")
    return {"pk": item.pk}


def _cadence(users: dict[str, Any]) -> dict[str, Any]:
    from maintenance.seed import ensure_content

    ensure_content()
    return {"cadence": "weekly"}


REDIRECT_EDIT = on_success(EDIT, 302)
REDIRECT_ADMIN = on_success(ADMIN_ONLY, 302)

ROUTES = [
    Route("maintenance:checklists", READ),
    Route("maintenance:checklist_history", READ),
    Route("maintenance:period", READ, setup=_period),
    Route("maintenance:item_tick", REDIRECT_EDIT, method="POST", setup=_item, data={"note": "all green"}),
    Route("maintenance:item_untick", REDIRECT_EDIT, method="POST", setup=_ticked_item, data={"note": "mis-click"}),
    Route("maintenance:checklist_edit", ADMIN_ONLY, setup=_cadence),
    Route(
        "maintenance:checklist_edit",
        REDIRECT_ADMIN,
        method="POST",
        setup=_cadence,
        data={"action": "add", "text": "Rotate API keys"},
        note="add item",
    ),
]
