"""Role-matrix routes of the maintenance app: every ``routes_*.py`` module of this package adds its own ROUTES.

Each part of the app (checklists and runbooks here; the security registry and reports of
Maintenance II) keeps its routes in its own module, so they can grow without touching each other.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tests.role_matrix import Route

ROUTES: list[Route] = []
for _module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if _module.name.startswith("routes_"):
        ROUTES.extend(importlib.import_module(f"{__package__}.{_module.name}").ROUTES)
