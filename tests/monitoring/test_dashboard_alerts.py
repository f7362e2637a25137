"""The dashboard's open-alerts panel: counts, the most urgent first, live partial."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from monitoring.alerts.public import raise_alert

pytestmark = pytest.mark.django_db


def test_panel_lists_firing_before_acknowledged_and_critical_first(client_for: Any, users: dict[str, Any]) -> None:
    raise_alert("metric:memory", summary="Memory Usage above 80%", source="metrics", severity="warning")
    acked = raise_alert("service:web:down", summary="Web is down", source="monitoring")
    acked.acknowledge(users["editor"], "looking")
    raise_alert("service:api:down", summary="API is down", source="monitoring", severity="critical")
    page = client_for("viewer").get(reverse("monitoring:dashboard"))
    assert page.context["alert_counts"] == {"firing": 2, "acknowledged": 1}
    assert [a.summary for a in page.context["urgent_alerts"]] == [
        "API is down",
        "Memory Usage above 80%",
        "Web is down",
    ]
    assert b"2 firing" in page.content and b"1 acknowledged" in page.content

    partial = client_for("viewer").get(reverse("monitoring:dashboard_alerts"), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b"<html" not in partial.content and b"API is down" in partial.content


def test_panel_when_nothing_is_open(client_for: Any) -> None:
    resolved = raise_alert("service:api:down", summary="API is down", source="monitoring")
    resolved.resolve()
    page = client_for("viewer").get(reverse("monitoring:dashboard_alerts"))
    assert b"nothing firing" in page.content and b"API is down" not in page.content
