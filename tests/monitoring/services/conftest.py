"""Fixtures of the services tests: a real misbehaving HTTP target on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.monitoring.services.http_targets import TargetServer, serve


@pytest.fixture
def target() -> Iterator[TargetServer]:
    """A fresh target per test (slow, hanging, trickling, huge, redirecting paths; see http_targets)."""
    with serve() as server:
        yield server
