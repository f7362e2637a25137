"""Every URL the project defines is in the role matrix, and each role gets what the matrix says."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from tests.role_matrix import Route

ROLES = ("anon", "outsider", "viewer", "editor", "admin")


def all_routes() -> list[Route]:
    routes: list[Route] = []
    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg:
            continue
        try:
            mod = importlib.import_module(f"tests.{module.name}.routes")
        except ModuleNotFoundError:
            continue
        routes.extend(mod.ROUTES)
    return routes


def walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue  # the Django admin guards itself with the same model permissions
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            if p.name is None:
                continue
            yield f"{namespace}{p.name}", p.callback


def test_every_url_pattern_is_in_the_matrix() -> None:
    known = {r.name for r in all_routes()}
    missing, undeclared = [], []
    for name, callback in walk(get_resolver().url_patterns):
        if name not in known:
            missing.append(name)
        if not hasattr(callback, "required_permission"):
            undeclared.append(name)
    assert not missing, f"URL patterns missing from the role matrix: {missing}"
    assert not undeclared, f"views without console_view/api_view/public_view: {undeclared}"


def test_unnamed_patterns_are_not_allowed() -> None:
    def unnamed(patterns: list[Any]) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace != "admin":
                    yield from unnamed(p.url_patterns)
            elif p.name is None:
                yield str(p.pattern)

    assert not list(unnamed(get_resolver().url_patterns))


@pytest.mark.django_db
@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.id)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(route: Route, role: str, users: dict[str, Any], client_for: Any) -> None:
    kwargs = route.setup(users) if route.setup else {}
    url = reverse(route.name, kwargs=kwargs or None)
    data = route.data(users) if callable(route.data) else route.data
    client = client_for(role)
    method = getattr(client, route.method.lower())
    call: dict[str, Any] = {}
    if data is not None:
        call["data"] = json.dumps(data) if route.content_type == "application/json" else data
    if route.content_type:
        call["content_type"] = route.content_type
    response = method(url, **call)
    expected = route.expect[role]
    assert response.status_code == expected, f"{route.id} as {role}: {response.status_code}, expected {expected}"
    if role == "anon" and expected == 302 and not route.name.startswith(("login", "logout")):
        assert response["Location"].startswith(reverse("login"))
