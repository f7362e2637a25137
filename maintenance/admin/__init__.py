"""Django admin of the maintenance app, one module per part (each registers its own models)."""

from __future__ import annotations

from . import checklists, runbooks  # noqa: F401 - registers the ModelAdmins
