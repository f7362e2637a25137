"""Accessibility helpers: the console's HTML pages taken from the role matrix, a portal with data, axe-core in Chromium.

The page list is the role matrix's GET routes, so a new page is walked as soon as it is declared
there. axe-core is the vendored tests/e2e/vendor/axe.min.js (scripts/vendor_axe.sh), injected
into every page of a browser context before the page's own scripts run.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.role_matrix import Route

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# WCAG 2.0/2.1 levels A and AA, and axe's best practices; the test fails on serious and critical findings.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# What a colour scheme changes: the second scheme is checked with these rules only.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
BLOCKING = ("serious", "critical")


@dataclass
class Page:
    """One console page to walk: the route it comes from and its URL with the data in place."""

    route: Route
    url: str


def html_routes(role: str = "admin") -> list[Route]:
    """GET routes of the matrix that ``role`` may open and that sit behind sign-in (no API, no ping)."""
    from tests.test_role_matrix import all_routes

    seen: set[str] = set()
    routes = []
    for route in all_routes():
        if route.method != "GET" or route.expect.get("anon") != 302 or route.expect.get(role) != 200:
            continue
        if route.name in seen:
            continue
        seen.add(route.name)
        routes.append(route)
    return routes


def console_pages(users: dict[str, Any], client: Client) -> list[Page]:
    """Every full HTML page of the console (an Admin may open them all), each with its route's objects made once.

    A route's ``setup`` runs once per function (several routes share one: the service page, its
    edit and delete pages); an answer that is not a whole HTML document (CSV, JSON, an htmx
    fragment) is left out.
    """
    made: dict[Callable[..., Any], dict[str, Any]] = {}
    pages = []
    for route in html_routes("admin"):
        kwargs: dict[str, Any] = {}
        if route.setup is not None:
            if route.setup not in made:
                made[route.setup] = route.setup(users)
            kwargs = made[route.setup]
        url = reverse(route.name, kwargs=kwargs or None)
        response = client.get(url)
        assert response.status_code == 200, f"{route.id}: {response.status_code}"
        if not response["Content-Type"].startswith("text/html"):
            continue
        if not response.content.lstrip()[:15].lower().startswith(b"<!doctype html"):
            continue  # an htmx fragment: walked inside the page that includes it
        pages.append(Page(route, url))
    return pages


def pages_for(role: str, pages: list[Page]) -> list[Page]:
    return [p for p in pages if p.route.expect.get(role) == 200]


@contextmanager
def demo_target() -> Iterator[Any]:
    from monitoring.management.commands.demo_target import DemoServer

    server = DemoServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def populate(users: dict[str, Any], portal_url: str) -> None:
    """A portal in use: services up and down (real probes of the demo target), alerts firing and
    acknowledged, a good and a failed backup run, an open daily checklist with one item ticked,
    a runbook execution that became an incident, a secret in the registry."""
    import httpx
    from django.utils import timezone

    from backups.models import BackupRun
    from maintenance.checklists import tick
    from maintenance.models import Secret
    from monitoring.alerts.public import raise_alert
    from monitoring.metrics.evaluation import evaluate
    from monitoring.models import Alert, Service
    from monitoring.services.dispatch import probe_now
    from monitoring.services.rollups import rollup
    from tests.agents.helpers import ensure_agents
    from tests.backups.routes import catalog
    from tests.maintenance.fixtures import daily_period, execution
    from tests.monitoring.metrics.factories import ensure_runbook_metrics

    ensure_runbook_metrics()  # migration rows that an earlier transactional test flushed
    ensure_agents()
    with demo_target() as demo:
        call_command("seed_demo", target_url=demo.url, portal_url=portal_url, stdout=io.StringIO())
        # First due times are spread over the interval now: probe every seeded service at once.
        probe_now(list(Service.objects.filter(enabled=True)))
        httpx.post(f"{demo.url}/_control", json={"mode": "down", "component": "api"}, timeout=5)
        api = Service.objects.get(slug="demo-api")
        for _ in range(api.fail_threshold):
            probe_now([Service.objects.get(pk=api.pk)])
    rollup()
    evaluate()
    Service.objects.filter(slug="demo-ollama").update(enabled=False, status="paused")
    raise_alert("metric:disk_space", summary="Disk space 91% (alert at 85%)", source="metrics", severity="warning")
    raise_alert("metric:memory_usage", summary="Memory 88% (alert at 85%)", source="metrics", severity="warning")
    Alert.objects.get(dedup_key="metric:memory_usage").acknowledge(users["editor"], "looking")
    made = catalog(users)
    now = timezone.now()
    BackupRun.objects.create(
        policy=made["policy"],
        destination=made["dest"],
        source_kind="postgres",
        state="failed",
        started_at=now,
        finished_at=now,
        error="pg_dump: connection refused",
    )
    period = daily_period()
    tick(period.items.first(), users["editor"], note="all green")
    execution(users["editor"], incident=True)
    Secret.objects.create(name="Stripe API key", where_used="billing", owner="ada")


def sign_in_browser(context: Any, user: Any, base_url: str) -> None:
    """Signs ``user`` in to a browser context with a session made by Django's test client."""
    from django.conf import settings

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base_url}])


def new_context(browser: Any, *, scheme: str = "light", width: int = 1280, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    context.add_init_script(path=str(AXE))
    return context


def axe_violations(page: Any, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """Runs axe-core on the page as it is; returns the serious and critical violations."""
    if rules:
        only: dict[str, Any] = {"type": "rule", "values": rules}
    else:
        only = {"type": "tag", "values": AXE_TAGS}
    result = page.evaluate(
        "opts => axe.run(document, opts)", {"runOnly": only, "resultTypes": ["violations"], "reporter": "v1"}
    )
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]], limit: int = 4) -> str:
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}, {len(v['nodes'])} element(s)): {v['help']}")
        for node in v["nodes"][:limit]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:220]
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)
