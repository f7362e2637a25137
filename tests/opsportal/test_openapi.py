"""The OpenAPI description: every routed JSON endpoint is in it and nothing else, it is valid 3.1, it is served and shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from openapi_spec_validator import validate

from opsportal import apidoc, openapi
from opsportal.roles import ROLES, roles_holding

JSON_PREFIXES = ("api/",)  # a public view under these answers JSON, so it must be described too


def _routed() -> list[tuple[str, Any]]:
    return [(route, view) for route, _conv, view in openapi.routes()]


def test_every_routed_json_endpoint_is_described_with_its_methods() -> None:
    missing, wrong_methods = [], []
    for route, view in _routed():
        guarded = hasattr(view, "allowed_methods")
        if not guarded and not route.startswith(JSON_PREFIXES):
            continue
        ops = getattr(view, "openapi_operations", None)
        if not ops:
            missing.append(route)
            continue
        if guarded and set(ops) != set(view.allowed_methods) - {"HEAD"}:
            wrong_methods.append((route, sorted(ops), sorted(view.allowed_methods)))
    assert not missing, f"JSON endpoints missing from the OpenAPI description: {missing}"
    assert not wrong_methods, f"described methods differ from api_view's: {wrong_methods}"


def test_every_described_view_is_routed() -> None:
    routed = {id(view) for _route, view in _routed()}
    stray = [f"{v.__module__}.{v.__name__}" for v in apidoc.DESCRIBED if id(v) not in routed]
    assert not stray, f"described but not routed (describe() must sit above api_view, on the routed view): {stray}"


def test_paths_match_the_url_patterns() -> None:
    document = openapi.build()
    expected = set()
    for route, view in _routed():
        if getattr(view, "openapi_operations", None):
            expected.add("/" + re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", route))
    assert set(document["paths"]) == expected
    for path, item in document["paths"].items():
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi.build()
    assert document["openapi"].startswith("3.1")
    validate(document)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.django_db
def test_roles_come_from_the_role_matrix() -> None:
    """roles_holding (no query) says what the synchronised role groups hold, for every permission."""
    for perm in Permission.objects.select_related("content_type"):
        name = f"{perm.content_type.app_label}.{perm.codename}"
        held = [r for r in ROLES if perm.group_set.filter(name=r).exists()]
        assert roles_holding(name) == held, name


def test_each_operation_names_its_roles_and_error_shape() -> None:
    document = openapi.build()
    silences = document["paths"]["/api/v1/silences"]
    assert silences["get"]["x-roles"] == ["Viewer", "Editor", "Admin"]
    assert silences["post"]["x-roles"] == ["Editor", "Admin"]
    assert silences["post"]["x-permissions"] == ["monitoring.view_silence", "monitoring.add_silence"]
    assert document["paths"]["/api/v1/users"]["get"]["x-roles"] == ["Admin"]
    assert document["paths"]["/api/health"]["get"]["security"] == []
    for item in document["paths"].values():
        for op in item.values():
            if any(p["in"] == "path" for p in op.get("parameters", [])):
                assert "404" in op["responses"], op["operationId"]  # a value the pattern does not match
            if op["security"]:
                assert {"401", "403"} <= set(op["responses"]), op["operationId"]
                assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }


@pytest.mark.django_db
def test_served_to_tokens_and_shown_in_the_console(users: dict[str, Any], token_for: Any, client_for: Any) -> None:
    token = token_for("viewer")
    served = Client().get(reverse("api_openapi"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert served.status_code == 200 and served["Content-Type"] == "application/json"
    assert served.json() == openapi.build()
    assert Client().get(reverse("api_openapi")).status_code == 401

    page = client_for("viewer").get(reverse("api_docs"))
    assert page.status_code == 200
    html = page.content.decode()
    document = served.json()
    for path, item in document["paths"].items():
        for op in item.values():
            assert f'id="{op["operationId"]}"' in html
        assert f"<code>{path}</code>" in html
    assert html.count('data-testid="api-operation"') == sum(len(item) for item in document["paths"].values())
    assert "<th>" not in html.split("<main", 1)[1]  # every header cell says what it heads (scope)
    assert 'href="/api/v1/openapi.json"' in html
    assert "cdn" not in html.lower() and '<script src="http' not in html
