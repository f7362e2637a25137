"""Property test: every JSON endpoint and the services import, fed hostile bodies, never answer 5xx
and store nothing when they refuse.

Endpoints come from the role matrix (tests/*/routes*.py): every POST/PUT/PATCH route sent as
application/json, with its ``data`` as the valid template the generators in tests/strategies.py
mutate. A new endpoint listed there is covered without touching this file.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings

from opsportal.models import ApiToken
from tests.role_matrix import Route
from tests.strategies import content_types, hostile_bodies
from tests.test_role_matrix import all_routes

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "40"))
JSON_ROUTES = [
    r
    for r in all_routes()
    if r.method in ("POST", "PUT", "PATCH") and r.content_type == "application/json" and r.data is not None
]
# Tables a refused request may touch without storing anything of its own.
IGNORED_TABLES = {"django_session", "axes_accesslog", "axes_accessattempt", "axes_accessfailurelog"}


def table_counts() -> dict[str, int]:
    """Row count of every table, in one query."""
    tables = [t for t in connection.introspection.table_names() if t not in IGNORED_TABLES]
    quoted = [connection.ops.quote_name(t) for t in tables]  # names from the catalog, quoted
    sql = " UNION ALL ".join(f"SELECT %s, count(*) FROM {name}" for name in quoted)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return dict(cursor.fetchall())


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {t: (before.get(t, 0), n) for t, n in after.items() if before.get(t, 0) != n}


def _template(route: Route, users: dict[str, Any]) -> Any:
    return route.data(users) if callable(route.data) else route.data


@pytest.mark.django_db
@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.id)
def test_json_endpoint_never_fails_on_hostile_bodies(route: Route, users: dict[str, Any]) -> None:
    kwargs = route.setup(users) if route.setup else {}
    url = reverse(route.name, kwargs=kwargs or None)
    _token, plain = ApiToken.issue(users["admin"], "hostile", "Admin")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plain}")
    template = _template(route, users)

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
    )
    @given(body=hostile_bodies(template), content_type=content_types)
    def run(body: bytes, content_type: str) -> None:
        before = table_counts()
        response = getattr(client, route.method.lower())(url, data=body, content_type=content_type)
        assert response.status_code < 500, (route.id, body[:200], response.content[:300])
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json"), response.content[:200]
            assert changed(before, table_counts()) == {}, (route.id, body[:200])
            payload = json.loads(response.content)
            assert payload.get("error") or payload.get("errors"), payload

    run()


def _services_file() -> dict[str, Any]:
    return {
        "format": "opsportal.services",
        "version": 1,
        "services": [
            {
                "slug": "api",
                "name": "API",
                "check_type": "http",
                "url": "http://127.0.0.1:9/health",
                "timeout_seconds": 5,
                "tags": ["backend", "prod"],
                "parent": None,
            },
            {"slug": "db", "name": "Database", "check_type": "tcp", "host": "127.0.0.1", "port": 5432, "tags": []},
        ],
    }


@pytest.mark.django_db
def test_services_import_never_fails_on_hostile_files(client_for: Any) -> None:
    client = client_for("editor")
    url = reverse("monitoring:services_import")

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(body=hostile_bodies(_services_file()))
    def run(body: bytes) -> None:
        before = table_counts()
        response = client.post(url, {"file": SimpleUploadedFile("services.json", body, "application/json")})
        assert response.status_code < 500, (body[:200], response.content[:300])
        if response.status_code != 302:
            assert response.status_code in (400, 413), response.status_code
            assert changed(before, table_counts()) == {}, body[:200]

    run()
