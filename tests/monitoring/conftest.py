"""Fixtures shared by every part of monitoring's tests: a real HTTP receiver of notifications."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.monitoring.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started Receiver, stopped after the test."""
    r = Receiver().start()
    yield r
    r.stop()
