"""Role-matrix routes: dashboard and services."""

from __future__ import annotations

from tests.role_matrix import READ, Route

ROUTES = [
    Route("monitoring:dashboard", READ),
]
