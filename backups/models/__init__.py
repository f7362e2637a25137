"""Backups models, one module per area; import from here."""

from __future__ import annotations

from .config import Destination, MissingCredential, Policy, Source, read_env
from .restores import RestoreRun
from .runs import LOG_LIMIT, BackupRun, RestoreDrill

__all__ = [
    "LOG_LIMIT",
    "BackupRun",
    "Destination",
    "MissingCredential",
    "Policy",
    "RestoreDrill",
    "RestoreRun",
    "Source",
    "read_env",
]
