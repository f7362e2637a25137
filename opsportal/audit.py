"""The audit log: who changed what, when, through which channel, with before/after values.

Models are registered with ``register(Model, exclude=...)``. Saves and deletes of
registered models are recorded through signals, so a change made through the console, the
Django admin, the API or a command is recorded the same way. The request middleware puts the
actor and the channel into a context variable; outside a request the channel is "system".
Secret fields are never written: listed in ``secret`` they are recorded as "(changed)".
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from .models import AuditRecord

SECRET_MASK = "(secret changed)"


@dataclass
class AuditContext:
    actor: Any = None
    channel: str = AuditRecord.Channel.SYSTEM
    ip: str | None = None


_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar("audit_context", default=AuditContext())


@dataclass
class _Registration:
    exclude: set[str] = field(default_factory=set)
    secret: set[str] = field(default_factory=set)


_registry: dict[type[models.Model], _Registration] = {}


def current() -> AuditContext:
    return _context.get()


@contextmanager
def acting(actor: Any = None, channel: str = AuditRecord.Channel.SYSTEM, ip: str | None = None) -> Iterator[None]:
    """Attribute changes made inside the block to ``actor`` through ``channel``."""
    token = _context.set(AuditContext(actor=actor, channel=channel, ip=ip))
    try:
        yield
    finally:
        _context.reset(token)


def set_actor(actor: Any) -> None:
    """Update the actor of the current context (after an API token was authenticated)."""
    ctx = _context.get()
    _context.set(AuditContext(actor=actor, channel=ctx.channel, ip=ctx.ip))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, dt.timedelta)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The audited field values of ``instance`` as JSON-able values."""
    reg = _registry.get(type(instance), _Registration())
    data = {}
    for f in instance._meta.concrete_fields:
        if f.name in reg.exclude:
            continue
        data[f.name] = _plain(f.value_from_object(instance))
    return data


def _diff(before: dict[str, Any], after: dict[str, Any], secret: set[str]) -> dict[str, list[Any]]:
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = [SECRET_MASK, SECRET_MASK] if key in secret else [old, new]
    return changes


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    actor: Any = None,
    channel: str | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditRecord:
    """Write one audit record; the actor and channel default to the current context."""
    ctx = _context.get()
    actor = actor if actor is not None else ctx.actor
    actor_ok = actor is not None and getattr(actor, "is_authenticated", False)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    return AuditRecord.objects.create(
        actor_id=actor.pk if actor_ok else None,
        actor_name=actor.get_username() if actor_ok else "",
        channel=channel or ctx.channel,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        summary=summary[:300],
        changes=changes or {},
        ip=ctx.ip,
    )


def _pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **_: Any) -> None:
    if raw or instance.pk is None or instance._state.adding:
        instance._audit_before = None
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(old) if old is not None else None


def _post_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **kw: Any) -> None:
    if raw:
        return
    reg = _registry[sender]
    after = snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        record(AuditRecord.Action.CREATE, instance, changes=_diff({}, after, reg.secret))
        return
    changes = _diff(before, after, reg.secret)
    if changes:
        record(AuditRecord.Action.UPDATE, instance, changes=changes)


def _post_delete(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    reg = _registry[sender]
    record(AuditRecord.Action.DELETE, instance, changes=_diff(snapshot(instance), {}, reg.secret))


def _m2m_changed(sender: Any, instance: models.Model, action: str, model: Any, pk_set: Any, **_: Any) -> None:
    if type(instance) not in _registry or action not in ("post_add", "post_remove", "post_clear"):
        return
    names = sorted(getattr(o, "codename", None) or str(o) for o in model._default_manager.filter(pk__in=pk_set or []))
    field_name = next((f.name for f in instance._meta.many_to_many if f.remote_field.through is sender), "relation")
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    record(
        AuditRecord.Action.UPDATE,
        instance,
        summary=f"{field_name} {verb}: {', '.join(names)}" if names else f"{field_name} {verb}",
        changes={field_name: [verb, names]},
    )


def register(model: type[models.Model], *, exclude: set[str] | None = None, secret: set[str] | None = None) -> None:
    """Audit every save and delete of ``model``."""
    _registry[model] = _Registration(exclude=set(exclude or ()), secret=set(secret or ()))
    uid = f"audit-{model._meta.label_lower}"
    pre_save.connect(_pre_save, sender=model, dispatch_uid=uid + "-pre")
    post_save.connect(_post_save, sender=model, dispatch_uid=uid + "-post")
    post_delete.connect(_post_delete, sender=model, dispatch_uid=uid + "-del")
    for m2m in model._meta.many_to_many:
        m2m_changed.connect(_m2m_changed, sender=m2m.remote_field.through, dispatch_uid=f"{uid}-{m2m.name}")


def is_registered(model: type[models.Model]) -> bool:
    return model in _registry
