"""Fixtures of the metrics tests: the runbook's metric catalog, present even after a flush."""

from __future__ import annotations

import pytest

from tests.monitoring.metrics.factories import ensure_runbook_metrics


@pytest.fixture
def runbook_metrics() -> None:
    """The catalog rows of migration 0003 (a transactional test that ran earlier may have flushed them)."""
    ensure_runbook_metrics()
