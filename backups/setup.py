"""The zero-setup self-backup: a policy that backs the portal's own database up into DATA_DIR."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from .choices import DestinationKind, SourceKind
from .models import Destination, Policy, Source

SLUG = "ops-portal"


def protect_portal() -> tuple[Policy, bool]:
    """Create (once) the source, destination and nightly policy for the portal's own database."""
    existing = Policy.objects.filter(slug=SLUG).first()
    if existing is not None:
        return existing, False
    on_sqlite = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    folder = Path(settings.DATA_DIR) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        source, _ = Source.objects.get_or_create(
            slug=SLUG,
            defaults={
                "name": "Ops Portal database",
                "kind": SourceKind.SQLITE if on_sqlite else SourceKind.POSTGRES,
                "url_env": "" if on_sqlite else "DATABASE_URL",
                "is_portal_database": True,
                "description": "The portal's own catalog, alerts, checklists and audit log.",
            },
        )
        destination, _ = Destination.objects.get_or_create(
            slug=f"{SLUG}-data",
            defaults={"name": "Portal data folder", "kind": DestinationKind.LOCAL, "path": str(folder)},
        )
        policy = Policy.objects.create(
            name="Ops Portal nightly",
            slug=SLUG,
            source=source,
            destination=destination,
            smoke_sql="SELECT count(*) > 0 FROM django_migrations",
        )
    return policy, True
