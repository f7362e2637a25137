"""Services as configuration-as-code: export to JSON and import from it, idempotent by slug.

An import is all or nothing: every entry is validated first (unknown keys, field errors,
unknown parents) and nothing is written when any entry is wrong. Existing services are
updated only in the fields that differ, so importing the same file twice changes nothing
the second time. State (status, history) is never part of the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from monitoring.services.forms import CONFIG_FIELDS, RESERVED_SLUGS, SECRET_LOOKING, parse_tags
from monitoring.services.models import Service, Tag
from monitoring.services.parents import cycle_message, find_cycle
from opsportal import bodies

FORMAT = "opsportal.services"
VERSION = 1
# Fields in the file: the configuration, with parent as a slug and tags as names.
FILE_FIELDS = [f for f in CONFIG_FIELDS if f != "parent"]


def service_to_dict(service: Service) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(service, name) for name in FILE_FIELDS}
    data["parent"] = service.parent.slug if service.parent_id else None
    data["tags"] = sorted(t.name for t in service.tags.all())
    return data


def export_services(queryset: Any = None) -> dict[str, Any]:
    rows = (queryset if queryset is not None else Service.objects.all()).select_related("parent")
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "services": [service_to_dict(s) for s in rows.prefetch_related("tags").order_by("slug")],
    }


@dataclass
class ImportReport:
    """What an import did (or, with errors, would have refused to do)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return f"import refused: {len(self.errors)} error(s); nothing was changed"
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


def _entries(data: Any) -> list[Any]:
    if isinstance(data, dict):
        if data.get("format") not in (None, FORMAT):
            raise ValidationError(f"this is not a services file (format {data.get('format')!r})")
        entries = data.get("services")
    else:
        entries = data
    if not isinstance(entries, list):
        raise ValidationError('expected a list of services or {"services": [...]}')
    return entries


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{name}: {' '.join(m for e in errs for m in e.messages)}" for name, errs in exc.error_dict.items()]
    return list(exc.messages)


@dataclass
class _Plan:
    service: Service
    changed: list[str]
    tags: list[str]
    parent_slug: str | None
    created: bool


def _plan_entry(index: int, entry: Any, existing: dict[str, Service], errors: list[str]) -> _Plan | None:
    where = f"entry {index + 1}"
    if not isinstance(entry, dict):
        errors.append(f"{where}: expected an object")
        return None
    slug = entry.get("slug")
    if not isinstance(slug, str) or not slug:
        errors.append(f"{where}: 'slug' is required")
        return None
    where = f"{where} ({slug})"
    if slug in RESERVED_SLUGS:
        errors.append(f"{where}: the slug {slug!r} is reserved")
        return None
    unknown = sorted(set(entry) - {*FILE_FIELDS, "tags", "parent"})
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(unknown)}")
        return None
    service = existing.get(slug)
    created = service is None
    if service is None:
        service = Service(slug=slug)
    changed = []
    for name in FILE_FIELDS:
        if name not in entry:
            continue
        model_field = Service._meta.get_field(name)
        try:
            value = model_field.to_python(entry[name])
        except ValidationError as exc:
            errors.append(f"{where}: {name}: {' '.join(exc.messages)}")
            continue
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(f"{where}: {name}: must be a finite number")
            continue
        if value is None and not model_field.null:
            value = model_field.get_default()
        if getattr(service, name) != value:
            setattr(service, name, value)
            changed.append(name)
    for name in service.headers or {}:
        if SECRET_LOOKING.search(str(name)):
            errors.append(f"{where}: headers: {name} looks like a credential; use secret_headers")
    try:
        service.full_clean(exclude=["parent"], validate_unique=False)
    except ValidationError as exc:
        errors.extend(f"{where}: {m}" for m in _messages(exc))
    raw_tags = entry.get("tags") or []
    tags: list[str] = []
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        errors.append(f"{where}: tags: must be a list of names (text)")
    else:
        try:
            tags = parse_tags(",".join(raw_tags))
        except ValidationError as exc:
            errors.append(f"{where}: tags: {' '.join(exc.messages)}")
    parent = entry.get("parent")
    if parent is not None and not isinstance(parent, str):
        errors.append(f"{where}: parent must be a slug or null")
        parent = None
    return _Plan(service, changed, tags, parent, created)


def _cycles(plans: list[_Plan]) -> list[str]:
    """Parent cycles the import would create, with the services already stored, each named once."""
    parents: dict[str, str | None] = dict(
        Service.objects.filter(parent__isnull=False).values_list("slug", "parent__slug")
    )
    for plan in plans:
        if plan.parent_slug != plan.service.slug:
            parents[plan.service.slug] = plan.parent_slug
    errors, reported = [], set()
    for plan in plans:
        cycle = find_cycle(plan.service.slug, parents)
        if cycle and not set(cycle) & reported:
            reported.update(cycle)
            errors.append(f"{plan.service.slug}: {cycle_message(cycle)}")
    return errors


def import_services(data: Any) -> ImportReport:
    """Create or update services from exported data; all or nothing."""
    report = ImportReport()
    # The same checks as every JSON body (opsportal.bodies): no NUL, lone surrogate, NaN or
    # oversized number reaches a field, whether the data came from an upload or from code.
    refused = list(bodies.check_values(data))
    if refused:
        report.errors.extend(str(error) for error in refused)
        return report
    try:
        entries = _entries(data)
    except ValidationError as exc:
        report.errors.extend(exc.messages)
        return report
    slugs = [e.get("slug") for e in entries if isinstance(e, dict)]
    duplicates = sorted({s for s in slugs if isinstance(s, str) and slugs.count(s) > 1})
    if duplicates:
        report.errors.append(f"slug(s) listed twice: {', '.join(duplicates)}")
        return report
    existing = {s.slug: s for s in Service.objects.filter(slug__in=[s for s in slugs if isinstance(s, str)])}
    plans = [p for i, e in enumerate(entries) if (p := _plan_entry(i, e, existing, report.errors)) is not None]
    known = set(existing) | {p.service.slug for p in plans}
    known |= set(
        Service.objects.filter(slug__in=[p.parent_slug for p in plans if p.parent_slug]).values_list("slug", flat=True)
    )
    for plan in plans:
        if plan.parent_slug and plan.parent_slug not in known:
            report.errors.append(f"{plan.service.slug}: parent {plan.parent_slug!r} is not a known service")
        if plan.parent_slug == plan.service.slug:
            report.errors.append(f"{plan.service.slug}: a service cannot be its own parent")
    report.errors.extend(_cycles(plans))
    if report.errors:
        return report
    with transaction.atomic():
        for plan in plans:
            if plan.created:
                plan.service.save()
            elif plan.changed:
                plan.service.save(update_fields=[*plan.changed, "updated_at"])
        by_slug = {s.slug: s for s in Service.objects.filter(slug__in=known)}
        for plan in plans:
            service = plan.service
            parent_id = by_slug[plan.parent_slug].pk if plan.parent_slug else None
            if service.parent_id != parent_id:
                service.parent_id = parent_id
                service.save(update_fields=["parent", "updated_at"])
                plan.changed.append("parent")
            current = sorted(t.name for t in service.tags.all()) if not plan.created else []
            if current != sorted(plan.tags):
                service.tags.set([Tag.objects.get_or_create(name=n)[0] for n in plan.tags])
                plan.changed.append("tags")
            if plan.created:
                report.created.append(service.slug)
            elif plan.changed:
                report.updated.append(service.slug)
            else:
                report.unchanged.append(service.slug)
    return report
