"""factory-boy factories of the alerts tests: notification channels and alerts."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from monitoring.alerts.apprise_io import mask_url
from monitoring.alerts.choices import ChannelKind
from monitoring.models import NotificationChannel


class NotificationChannelFactory(DjangoModelFactory):
    """An enabled Apprise channel; ``url_masked`` follows ``url`` as the console stores it."""

    class Meta:
        model = NotificationChannel
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"channel-{n}")
    kind = ChannelKind.APPRISE
    url = factory.LazyAttribute(lambda o: f"json://127.0.0.1:9/{o.name}")
    url_masked = factory.LazyAttribute(lambda o: mask_url(o.url))
