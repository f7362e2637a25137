"""Role-matrix routes of the backups app."""

from __future__ import annotations

from tests.role_matrix import Route

ROUTES: list[Route] = []
