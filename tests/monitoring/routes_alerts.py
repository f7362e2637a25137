"""Role-matrix routes: metrics, alerts, silences, channels, ingest."""

from __future__ import annotations

from tests.role_matrix import Route

ROUTES: list[Route] = []
