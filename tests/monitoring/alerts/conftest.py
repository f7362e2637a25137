"""Fixtures of the alerts tests: an Apprise channel "ops" that delivers to the real receiver."""

from __future__ import annotations

import pytest

from monitoring.models import NotificationChannel
from tests.monitoring.alerts.factories import NotificationChannelFactory
from tests.monitoring.receiver import Receiver


@pytest.fixture
def ops_channel(receiver: Receiver) -> NotificationChannel:
    return NotificationChannelFactory(name="ops", url=receiver.url())
