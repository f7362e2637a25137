"""The runbook's caching strategy on the portal's own responses, one test per kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from whitenoise.middleware import WhiteNoiseMiddleware

from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_hashed_static_files_are_cached_a_year_and_immutable(settings: Any, tmp_path: Path) -> None:
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    hashed = next(
        p.name
        for p in (settings.STATIC_ROOT / "css").iterdir()
        if p.name.startswith("portal.") and p.suffix == ".css" and p.name != "portal.css"
    )
    middleware = WhiteNoiseMiddleware(get_response=lambda request: None, settings=settings)
    response = middleware(RequestFactory().get(f"/static/css/{hashed}"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    # The unhashed name is not immutable: whitenoise's short public cache, never a year.
    plain = middleware(RequestFactory().get("/static/css/portal.css"))
    assert plain.status_code == 200 and "immutable" not in plain["Cache-Control"]


def test_live_pages_are_no_store(client_for: Any) -> None:
    for name in ("monitoring:dashboard", "monitoring:services", "monitoring:alerts", "jobs"):
        response = client_for("viewer").get(reverse(name))
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store", name


def test_status_apis_are_no_store(client_for: Any, token_for: Any) -> None:
    ServiceFactory(slug="api")
    token = token_for("viewer")
    for url in (reverse("api_health"), reverse("monitoring:api_services"), reverse("monitoring:api_alerts")):
        response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "max-age=0" in response["Cache-Control"] or response["Cache-Control"] == "no-store", url
    assert "no-store" in Client().get(reverse("metrics"))["Cache-Control"]


def test_read_apis_get_a_short_private_cache_that_varies_by_caller(token_for: Any) -> None:
    ServiceFactory(slug="api")
    token = token_for("viewer")
    results = Client().get(
        reverse("monitoring:api_service_results", kwargs={"slug": "api"}), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert results.status_code == 200
    assert results["Cache-Control"] == "private, max-age=60"
    assert {"Cookie", "Authorization"} <= {v.strip() for v in results["Vary"].split(",")}
    me = Client().get(reverse("api_me"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me["Cache-Control"] == "private, max-age=60"
    # An error is never cached, even on a cacheable route.
    missing = Client().get(
        reverse("monitoring:api_service_results", kwargs={"slug": "nope"}), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert missing.status_code == 404 and missing["Cache-Control"] == "no-store"
    anonymous = Client().get(reverse("api_me"))
    assert anonymous.status_code == 401 and anonymous["Cache-Control"] == "no-store"


def test_a_response_that_chose_its_own_cache_control_keeps_it(client: Client) -> None:
    # The sign-in page is never_cache (Django's own choice): kept, not overwritten.
    response = client.get(reverse("login"))
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
