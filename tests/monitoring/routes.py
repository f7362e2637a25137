"""Role-matrix routes of the monitoring app (services and dashboard; alerts and metrics)."""

from __future__ import annotations

from tests.monitoring.routes_alerts import ROUTES as ALERT_ROUTES
from tests.monitoring.routes_services import ROUTES as SERVICE_ROUTES

ROUTES = SERVICE_ROUTES + ALERT_ROUTES
