"""Role-matrix routes of runbooks, executions and incidents: read for all roles, execute for editors, edit for admins."""

from __future__ import annotations

from typing import Any

from tests.role_matrix import ADMIN_ONLY, EDIT, READ, Route, on_success

REDIRECT_READ = on_success(READ, 302)
REDIRECT_EDIT = on_success(EDIT, 302)
REDIRECT_ADMIN = on_success(ADMIN_ONLY, 302)


def _slug(users: dict[str, Any]) -> dict[str, Any]:
    from tests.maintenance.fixtures import runbook

    return {"slug": runbook().slug}


def _version(users: dict[str, Any]) -> dict[str, Any]:
    from maintenance.runbooks import save_version
    from tests.maintenance.fixtures import runbook

    book = runbook()
    save_version(book, book.current.body + "\n5. Tell the team\n", author=users["admin"])
    return {"slug": book.slug, "number": 2}


def _execution(users: dict[str, Any]) -> dict[str, Any]:
    from tests.maintenance.fixtures import execution

    return {"pk": execution(users["editor"]).pk}


def _step(users: dict[str, Any]) -> dict[str, Any]:
    return {**_execution(users), "position": 1}


def _incident(users: dict[str, Any]) -> dict[str, Any]:
    from tests.maintenance.fixtures import execution

    return {"pk": execution(users["editor"], incident=True).incident_id}


def _book_form(users: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Service Is Down",
        "kind": "troubleshooting",
        "body": "1. Look\n2. Fix\n",
        "change_note": "shorter",
    }


POSTMORTEM = {
    "summary": "API was down for 4 minutes",
    "impact": "",
    "root_cause": "bad deploy",
    "went_well": "",
    "prevent": "",
    "actions-TOTAL_FORMS": "1",
    "actions-INITIAL_FORMS": "0",
    "actions-MIN_NUM_FORMS": "0",
    "actions-MAX_NUM_FORMS": "30",
    "actions-0-text": "Add a canary",
    "actions-0-owner": "eddie",
}

ROUTES = [
    Route("maintenance:runbooks", READ),
    Route("maintenance:runbook", READ, setup=_slug),
    Route(
        "maintenance:runbook_open", REDIRECT_READ, setup=lambda u: _slug(u) and {}, data={"title": "Service Is Down"}
    ),
    Route("maintenance:runbook_version", READ, setup=_version),
    Route("maintenance:runbook_new", ADMIN_ONLY),
    Route(
        "maintenance:runbook_new",
        REDIRECT_ADMIN,
        method="POST",
        data={"title": "Rotate TLS", "kind": "procedure", "body": "1. Renew\n"},
    ),
    Route("maintenance:runbook_edit", ADMIN_ONLY, setup=_slug),
    Route("maintenance:runbook_edit", REDIRECT_ADMIN, method="POST", setup=_slug, data=_book_form),
    Route("maintenance:execution_start", REDIRECT_EDIT, method="POST", setup=_slug),
    Route("maintenance:executions", READ),
    Route("maintenance:execution", READ, setup=_execution),
    Route("maintenance:step_done", REDIRECT_EDIT, method="POST", setup=_step, data={"note": "ok", "output": "up"}),
    Route("maintenance:step_skip", REDIRECT_EDIT, method="POST", setup=_step, data={"reason": "not needed"}),
    Route("maintenance:step_reopen", REDIRECT_EDIT, method="POST", setup=_step),
    Route("maintenance:execution_finish", REDIRECT_EDIT, method="POST", setup=_execution, data={"outcome": "resolved"}),
    Route("maintenance:incidents", READ),
    Route("maintenance:incident", READ, setup=_incident),
    Route("maintenance:incident_markdown", READ, setup=_incident),
    Route("maintenance:postmortem_edit", EDIT, setup=_incident),
    Route("maintenance:postmortem_edit", REDIRECT_EDIT, method="POST", setup=_incident, data=POSTMORTEM),
]
