"""Helpers that build services and their history for the services-side tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from monitoring.models import CheckResult, Service, Tag


def make_service(slug: str = "api", **fields: Any) -> Service:
    tags = fields.pop("tags", [])
    defaults: dict[str, Any] = {
        "name": slug.replace("-", " ").title(),
        "url": f"http://127.0.0.1:9/{slug}",
        "interval_seconds": 60,
        "timeout_seconds": 2.0,
    }
    defaults.update(fields)
    service = Service.objects.create(slug=slug, **defaults)
    if tags:
        service.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
    return service


def add_results(
    service: Service,
    latencies: list[float | None],
    *,
    start: dt.datetime | None = None,
    step: dt.timedelta = dt.timedelta(minutes=1),
) -> list[CheckResult]:
    """One raw result per latency (None = a failed check), one ``step`` apart."""
    start = start or timezone.now() - step * len(latencies)
    rows = [
        CheckResult(
            service=service,
            at=start + step * i,
            ok=latency is not None,
            latency_ms=latency if latency is not None else 2000.0,
            status_code=200 if latency is not None else None,
            error="" if latency is not None else "timed out",
        )
        for i, latency in enumerate(latencies)
    ]
    return CheckResult.objects.bulk_create(rows)
