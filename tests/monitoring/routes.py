"""Role-matrix routes of the monitoring app (services and dashboard; alerts and metrics)."""

from __future__ import annotations

from tests.monitoring.alerts.routes import ROUTES as ALERT_ROUTES
from tests.monitoring.services.routes import ROUTES as SERVICE_ROUTES

ROUTES = SERVICE_ROUTES + ALERT_ROUTES
