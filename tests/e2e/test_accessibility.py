"""Browser: axe-core finds no serious or critical WCAG 2.1 AA violation on any console page.

One walk over a portal with data (services up, down and paused, alerts firing and acknowledged,
a good and a failed backup run, an open checklist, an incident):

- every HTML page of the role matrix as an Admin, light scheme, every rule of AXE_TAGS;
- every page an Editor may open, as an Editor (action forms without the Admin's), every rule;
- every page a Viewer may open, as a Viewer (no action forms, read-only notes), every rule;
- the dark scheme with the colour rules (what a scheme changes) on DARK_PAGES, one page of each
  kind (lists, detail pages, forms, charts, code blocks, every status colour), as an Admin;
- the sign-in page, signed out, in both schemes.

The figures (pages and failing elements per pass, seconds) are written to axe-figures.json and the
violations to axe-violations.json in SCREENSHOT_DIR. A11Y_PAGES=regex limits the walk while fixing.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.e2e.a11y import (
    COLOUR_RULES,
    Page,
    axe_violations,
    console_pages,
    describe,
    new_context,
    pages_for,
    populate,
    sign_in_browser,
)
from tests.role_matrix import Route

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DARK_PAGES = {
    "monitoring:dashboard",
    "monitoring:services",
    "monitoring:service",
    "monitoring:service_edit",
    "monitoring:alerts",
    "monitoring:alert",
    "monitoring:metrics",
    "monitoring:metric",
    "monitoring:silences",
    "monitoring:agents",
    "monitoring:logs",
    "backups:index",
    "backups:run",
    "backups:policy",
    "backups:drill",
    "maintenance:checklists",
    "maintenance:period",
    "maintenance:runbook",
    "maintenance:execution",
    "maintenance:incident",
    "maintenance:security",
    "maintenance:report_month",
    "jobs",
    "audit",
    "tokens",
}


def walk(
    browser: Any, base: str, pages: list[Page], *, user: Any, scheme: str, rules: list[str] | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Opens each page in one browser tab and runs axe-core; returns figures and violations."""
    context = new_context(browser, scheme=scheme)
    if user is not None:
        sign_in_browser(context, user, base)
    tab = context.new_page()
    found, details, loading, checking = 0, [], 0.0, 0.0
    only = os.environ.get("A11Y_PAGES", "")
    for entry in pages:
        if only and not re.search(only, entry.url):
            continue
        started = time.monotonic()
        tab.goto(f"{base}{entry.url}", wait_until="load")
        loaded = time.monotonic()
        violations = axe_violations(tab, rules)
        loading, checking = loading + loaded - started, checking + time.monotonic() - loaded
        if violations:
            found += sum(len(v["nodes"]) for v in violations)
            details.append({"url": entry.url, "scheme": scheme, "violations": violations})
    context.close()
    figures = {"pages": len(pages), "elements": found, "load_s": round(loading, 1), "axe_s": round(checking, 1)}
    return figures, details


@pytest.mark.timeout(900)
def test_every_console_page_passes_axe(browser: Any, live_server: Any, users: dict[str, Any], tmp_path: Path) -> None:
    populate(users, live_server.url)
    admin = Client()
    admin.force_login(users["admin"])
    every_page = console_pages(users, admin)
    assert len(every_page) >= 60, "the role matrix should give every console page"
    dark = [p for p in every_page if p.route.name in DARK_PAGES]
    assert {p.route.name for p in dark} == DARK_PAGES, "a DARK_PAGES name is no page of the matrix"
    login = [Page(Route("login", {}), "/login/")]
    # The board's other groupings draw per-group state pills (the default, by state, does not).
    boards = [Page(Route("monitoring:dashboard", {}), f"/?group={g}") for g in ("kind", "tag")]
    passes = [
        ("admin", "light", None, every_page + boards),
        ("editor", "light", None, pages_for("editor", every_page)),
        ("viewer", "light", None, pages_for("viewer", every_page)),
        ("admin", "dark", COLOUR_RULES, dark + boards),
        ("anon", "light", None, login),
        ("anon", "dark", None, login),
    ]
    started = time.monotonic()
    figures: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    for role, scheme, rules, pages in passes:
        figures[f"{role}/{scheme}"], details = walk(
            browser, live_server.url, pages, user=users.get(role), scheme=scheme, rules=rules
        )
        failures.extend({"role": role, **d} for d in details)
    figures["seconds"] = round(time.monotonic() - started, 1)
    out = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    (out / "axe-figures.json").write_text(json.dumps(figures, indent=1))
    (out / "axe-violations.json").write_text(json.dumps(failures, indent=1))
    report = "\n".join(f"{f['url']} as {f['role']}, {f['scheme']}:\n{describe(f['violations'])}" for f in failures)
    assert not failures, f"axe-core: {figures}\n{report}"
