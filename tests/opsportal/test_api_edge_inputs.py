"""Inputs schemathesis found answered with a 500, now refused as the description says (regressions)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(token_for: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for('admin')}")


@pytest.mark.parametrize(
    "url", ["/api/v1/alerts?service=a%00b", "/api/v1/services?tag=%00", "/api/agents/logs?agent=x%00"]
)
def test_a_nul_in_the_query_string_is_a_400_naming_the_parameter(api: Client, url: str) -> None:
    """Was a 500: PostgreSQL text cannot hold NUL, and the value reached a filter."""
    response = api.get(url)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "contains a NUL character (\\u0000)"


def test_a_nul_in_a_parameter_name_is_a_400(api: Client) -> None:
    assert api.get("/api/v1/alerts?a%00=1").status_code == 400


@pytest.mark.parametrize("method", ["put", "delete", "trace"])
def test_a_method_the_endpoint_does_not_take_is_a_405_with_allow(api: Client, method: str) -> None:
    """The 405 had no Allow header, which RFC 9110 requires."""
    response = getattr(api, method)("/api/v1/silences")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
    assert response.json()["allowed"] == ["GET", "HEAD", "POST"]
