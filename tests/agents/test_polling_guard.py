"""Polling the product's agent endpoints obeys the probe guard: a denied address is refused at
connect time (nothing is sent), and an allowed loopback product is read as before."""

from __future__ import annotations

from monitoring.agents import polling
from tests.monitoring.services.http_targets import serve


def test_metadata_address_is_refused_at_connect_time() -> None:
    results = polling.fetch(["http://169.254.169.254", "http://[fd00:ec2::254]"], timeout=2.0)
    for base, (status, memory, reason) in results.items():
        assert status is None and memory is None, base
        assert "169.254" in reason or "fd00:ec2::254" in reason or "denied" in reason.lower(), reason


def test_a_loopback_product_is_still_read() -> None:
    with serve() as target:
        results = polling.fetch([target.base], timeout=2.0)
        paths = [path for _, path, _ in target.requests]
    assert "/api/agents/status" in paths and "/api/agents/memory/stats" in paths
    assert target.base in results
