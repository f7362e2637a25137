"""Parent cycles are refused where a parent is set: the form (and so the admin) and the import (issue 9, case 6)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from monitoring.models import Service
from monitoring.services.import_export import export_services, import_services
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_the_import_refuses_two_services_that_are_each_others_parent() -> None:
    """As seen: the import accepted a file where api's parent is web and web's parent is api."""
    ServiceFactory(slug="api", name="API")
    ServiceFactory(slug="web", name="Web")
    data = export_services()
    for entry in data["services"]:
        entry["parent"] = "web" if entry["slug"] == "api" else "api"
    report = import_services(data)
    assert report.errors == ["api: Parent cycle: api → web → api (a service cannot be its own ancestor)."]
    assert not Service.objects.filter(parent__isnull=False).exists()  # nothing written


def test_the_form_refuses_a_parent_that_closes_a_cycle(client_for: Callable[[str], Client]) -> None:
    api = ServiceFactory(slug="api", name="API")
    ServiceFactory(slug="web", name="Web", parent=api)
    web = Service.objects.get(slug="web")
    response = client_for("editor").get(f"/services/{api.slug}/edit/")
    assert response.status_code == 200
    form = response.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | dict)}
    data.update({"parent": str(web.pk), "tags_text": ""})
    response = client_for("editor").post(f"/services/{api.slug}/edit/", data)
    assert response.status_code == 200
    assert "Parent cycle: API → Web → API" in response.content.decode()
    assert Service.objects.get(pk=api.pk).parent_id is None


def test_the_model_check_names_a_longer_cycle() -> None:
    a = ServiceFactory(slug="a", name="A")
    b = ServiceFactory(slug="b", name="B", parent=a)
    c = ServiceFactory(slug="c", name="C", parent=b)
    a.parent = c
    with pytest.raises(Exception) as caught:
        a.full_clean()
    assert "Parent cycle: A → C → B → A" in str(caught.value)
