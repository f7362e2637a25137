"""Fixtures of the agents tests: the demo target as a real loopback HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitoring.management.commands.demo_target import DemoServer
from tests.agents.helpers import demo_server


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with demo_server() as server:
        yield server
