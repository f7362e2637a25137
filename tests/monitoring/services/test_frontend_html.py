"""A frontend check means HTML (issue 9, item 11): text/html and an HTML body, by default for kind frontend."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from monitoring.management.commands.demo_target import DemoServer
from monitoring.models import CheckResult
from monitoring.services.dispatch import probe_now
from tests.monitoring.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    server = DemoServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_frontend_answering_html_passes(demo: DemoServer) -> None:
    web = ServiceFactory(slug="web", name="Web", kind="frontend", url=f"{demo.url}/")
    probe_now([web])
    result = CheckResult.objects.get(service=web)
    assert result.ok and result.error == ""


def test_a_frontend_answering_json_with_200_fails_naming_the_type(demo: DemoServer) -> None:
    web = ServiceFactory(slug="web", name="Web", kind="frontend", url=f"{demo.url}/api/health")
    probe_now([web])
    result = CheckResult.objects.get(service=web)
    assert not result.ok and result.status_code == 200
    assert result.error == "expected HTML (text/html), got application/json"


def test_an_api_service_is_not_held_to_html(demo: DemoServer) -> None:
    api = ServiceFactory(slug="api", name="API", kind="api", url=f"{demo.url}/api/health")
    probe_now([api])
    assert CheckResult.objects.get(service=api).ok
