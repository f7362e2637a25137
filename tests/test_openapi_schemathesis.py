"""schemathesis runs every operation of the OpenAPI description against a live server, as an editor and an admin.

The server is the production WSGI application on a loopback port, on the test database.

For each operation and token: valid cases (random path values, and the seeded objects' values so
detail pages answer 200) and invalid ones (schemathesis' negative mode), a bounded number each.
Every answer must be no 5xx, a status the description lists, of its content type and schema; a
refusal (4xx) stores nothing: the row count of every portal table is the same before and after.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from django.apps import apps
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer, get_internal_wsgi_application
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from monitoring.alerts.public import raise_alert
from monitoring.models import Agent, CheckResult, LogLine, Metric, ModelProvider, Service, Silence
from opsportal import openapi
from opsportal.roles import PORTAL_APPS
from tests.agents.helpers import ensure_agents
from tests.conftest import make_user

runbook_metrics = importlib.import_module("monitoring.migrations.0003_runbook_metrics")

EXAMPLES = 10  # per operation, token and kind of case
SECOND_TOKEN = 5  # the admin's cases per kind, for operations an editor may call too
RANDOM_IDS = 5  # random path values (mostly unknown objects: 404) of an operation that has path parameters
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _row_count_sql() -> str:
    tables = sorted(
        {
            m._meta.db_table
            for m in apps.get_models(include_auto_created=True)
            if m._meta.app_label in PORTAL_APPS and m._meta.managed and not m._meta.proxy
        }
        | {"auth_user_groups", "auth_user"}
    )
    return "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)  # noqa: S608 - model table names


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def portal(transactional_db: Any) -> Iterator[str]:
    """The production WSGI application (fast paths included) on a loopback port, served by one thread.

    One thread keeps one database connection for the whole run (pytest-django's live_server answers
    each request in a new thread, with a new PostgreSQL connection).
    """
    httpd = WSGIServer(("127.0.0.1", 0), _QuietHandler, ipv6=False)
    httpd.set_app(get_internal_wsgi_application())

    def serve() -> None:
        try:
            httpd.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # the thread's own connection, before the tables are flushed

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


@pytest.fixture
def seeded(portal: str, users: dict[str, Any], token_for: Any) -> dict[str, Any]:
    """Objects for the path parameters to name: a service with results, an alert, a silence, agents, a provider."""
    ensure_agents()  # "content", the examples' agent
    memory = next(row for row in runbook_metrics.RUNBOOK_METRICS if row["key"] == "memory_usage")
    Metric.objects.get_or_create(key="memory_usage", defaults=memory)  # transactional tests flush the catalog
    now = timezone.now()
    svc = Service.objects.create(name="API", slug="api", url="http://127.0.0.1:9/health")  # the examples' service
    CheckResult.objects.bulk_create(
        CheckResult(service=svc, at=now - dt.timedelta(minutes=i), ok=i % 7 != 3, latency_ms=40.0 + i, status_code=200)
        for i in range(20)
    )
    beat = Service.objects.create(name="Nightly job", slug="nightly", check_type="heartbeat")
    agent = Agent.objects.order_by("position").first()
    Agent.objects.update(service=svc)
    LogLine.objects.create(service=svc, agent=agent, at=now, level="error", message="model call failed")
    ModelProvider.objects.create(name="local", kind="ollama", base_url="http://127.0.0.1:9")
    alert = raise_alert("schemathesis:api:down", summary="API down", source="monitoring", service=svc)
    silence = Silence.objects.create(service=svc, reason="deploy", ends_at=now + dt.timedelta(hours=1))
    target = make_user("tess-target", "Viewer")
    return {
        "url": portal,
        "tokens": {"editor": token_for("editor"), "admin": token_for("admin")},
        "path": {
            "slug": svc.slug,
            "pk": alert.pk,
            "name": agent.slug,
            "month": f"{now:%Y-%m}",
            "key": str(beat.ping_key),
            "status": 0,
        },
        "silence": silence.pk,
        "user": target.pk,
    }


def _fixed_path(operation: Any, seeded: dict[str, Any]) -> dict[str, Any] | None:
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    values = {name: seeded["path"][name] for name in names}
    if operation.path.startswith("/api/v1/silences/"):
        values["pk"] = seeded["silence"]
    if operation.path.startswith("/api/v1/users/"):
        values["pk"] = seeded["user"]
    return values


def _strategies(operation: Any, seeded: dict[str, Any]) -> list[tuple[str, Any, int]]:
    """(kind, strategy, examples): valid cases with random path values and with the seeded objects', invalid ones."""
    fixed = _fixed_path(operation, seeded)
    out = []
    if not operation.path.startswith("/api/v1/users/"):  # a random id could be the editor's: their role must stay
        out.append(
            ("random", operation.as_strategy(GenerationMode.POSITIVE), EXAMPLES if fixed is None else RANDOM_IDS)
        )
    if fixed is not None:
        out.append(("seeded", operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed), EXAMPLES))
    out.append(("negative", operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed), EXAMPLES))
    return out


class Run:
    """One schemathesis run: the server, the row counter, and what it saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.counts_sql = _row_count_sql()
        self.tally: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.seconds: Counter[str] = Counter()
        self.spent: Counter[str] = Counter()  # seconds in calls, checks and row counts
        self.stored = self.rows()

    def rows(self) -> tuple[int, ...]:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(self.counts_sql)
            found = tuple(cursor.fetchone())
        self.spent["row counts"] += time.monotonic() - started
        return found

    def check(self, case: Any, label: str, headers: dict[str, str]) -> Any:
        """Call ``case``, validate the answer, and make sure a refusal stored nothing."""
        started = time.monotonic()
        response = case.call(base_url=self.url, headers=headers, timeout=30)
        self.spent["calls"] += time.monotonic() - started
        started = time.monotonic()
        case.validate_response(response, checks=CHECKS, headers=headers)
        self.spent["checks"] += time.monotonic() - started
        self.statuses[response.status_code] += 1
        self.tally[label] += 1
        # Only an accepted request may change what is stored: compare a refusal with the rows before it.
        now = self.rows()
        if response.status_code >= 400:
            assert now == self.stored, (
                f"{case.method} {case.formatted_path} refused ({response.status_code}) but stored rows"
            )
        self.stored = now
        return response

    def example(self, operation: Any, fixed: dict[str, Any] | None, label: str, role: str, token: str) -> None:
        """The description's own example body: accepted (2xx, or 409 once the alert has moved on) when the role may."""
        media = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" not in media:
            return
        query = {p["name"]: p["example"] for p in operation.definition.raw.get("parameters", []) if "example" in p}
        case = operation.Case(path_parameters=fixed, query=query, body=media["example"], media_type="application/json")
        response = self.check(case, label, {"Authorization": f"Bearer {token}"})
        allowed = role in operation.definition.raw.get("x-roles", [])
        if not allowed:
            assert response.status_code == 403, response.text
        else:
            assert response.status_code < 300 or response.status_code == 409, f"{operation.label}: {response.text}"

    def cases(self, operation: Any, strategy: Any, label: str, token: str, examples: int) -> None:
        """Up to ``examples`` cases of ``strategy``, each called, validated and, when refused, checked to store nothing."""
        headers = {"Authorization": f"Bearer {token}"}
        started = time.monotonic()

        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def run(case: Any) -> None:
            self.check(case, label, headers)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            self.tally[f"{label} (nothing to vary)"] += 1  # negative mode for an operation without inputs
        self.seconds[operation.label] += time.monotonic() - started
        self.spent[f"kind {label.split()[1]}"] += time.monotonic() - started


def test_every_operation_against_a_live_server(seeded: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(openapi.build())
    run = Run(seeded["url"])
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        strategies = _strategies(operation, seeded)
        editors_may = "Editor" in operation.definition.raw.get("x-roles", [])
        for who, token in seeded["tokens"].items():
            run.example(operation, _fixed_path(operation, seeded), f"{who} example", who.title(), token)
            for kind, strategy, examples in strategies:
                if who == "editor" or not editors_may:
                    run.cases(operation, strategy, f"{who} {kind}", token, examples)
                elif kind != "negative":
                    # Where an editor may call too, the admin's answers differ only in what they find: fewer
                    # valid cases, and the invalid ones (refused before any role matters) are the editor's.
                    run.cases(operation, strategy, f"{who} {kind}", token, min(examples, SECOND_TOKEN))
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations, {sum(run.tally.values())} requests in {elapsed:.1f} s")
    print(f"  by token and kind: {dict(run.tally)}")
    print(f"  statuses: {dict(sorted(run.statuses.items()))}")
    print(f"  seconds spent: {dict((k, round(v, 1)) for k, v in run.spent.items())}")
    print(f"  slowest: {[(label, round(sec, 1)) for label, sec in run.seconds.most_common(8)]}")
    assert len(operations) == sum(len(item) for item in openapi.build()["paths"].values())
    assert run.statuses[200] + run.statuses[201] > 0
