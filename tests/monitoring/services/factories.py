"""factory-boy factories of the services tests (services, tags) and a builder of raw check history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from monitoring.models import CheckResult, Service, Tag


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class ServiceFactory(DjangoModelFactory):
    """A service probed every minute with a 2 s timeout, at a loopback URL nobody answers
    (port 9) unless ``url`` says otherwise; ``tags=["prod"]`` gets or creates the tags."""

    class Meta:
        model = Service
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"svc-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    url = factory.LazyAttribute(lambda o: f"http://127.0.0.1:9/{o.slug}")
    interval_seconds = 60
    timeout_seconds = 2.0

    @factory.post_generation
    def tags(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.tags.set([TagFactory(name=name) for name in extracted])


class HeartbeatFactory(ServiceFactory):
    """A heartbeat (push) check expecting a ping every hour, with 10 minutes of grace."""

    check_type = "heartbeat"
    url = ""
    heartbeat_period_seconds = 3600
    heartbeat_grace_seconds = 600


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
