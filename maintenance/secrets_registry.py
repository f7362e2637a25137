"""The secrets registry's rules: fingerprints not secrets, the portal's own inventory, the
four-step rotation walk, and due-soon/overdue alerts.

A value that looks like a secret (a long random token, a known key prefix) is refused in every
field; the refusal never repeats the value. Rows the portal lists itself are kept in step by
``sync_inventory`` from opsportal's API tokens and from providers registered by monitoring
(notification channels, TLS certificates) and backups (credential variables), by name.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from monitoring.public import evidence, raise_alert, resolve_alert
from opsportal import audit
from opsportal.models import ApiToken, AuditRecord

from .models import Rotation, RotationStep, Secret
from .security_choices import ROTATION_STEPS, DueState, RotationState, SecretKind

ROTATION_RUNBOOK = "API Key Rotation"
FINGERPRINT_HELP = (
    "At most a fingerprint: the last four characters of the key, or the start of its SHA-256 "
    "written sha256:<8 to 16 hex digits> (echo -n KEY | sha256sum). Never the key itself."
)
_FINGERPRINT = re.compile(r"^(?:.{4}|sha256:[0-9a-f]{8,16})$")
_KNOWN_PREFIX = re.compile(
    r"(sk[-_](live|test|proj)|sk-[A-Za-z0-9]{10}|gh[pousr]_|github_pat_|xox[abposr]-|AKIA[0-9A-Z]{12}|AIza[0-9A-Za-z_-]{20}"
    r"|glpat-|opp_[0-9a-f]{12}_|-----BEGIN|eyJ[A-Za-z0-9_-]{10,}\.)"
)
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{20,}")
SECRET_MESSAGE = (
    "This looks like a secret (a key or a long random token). The registry stores no secrets: leave it out."
)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` carries something that looks like a key: a known prefix, or a long token
    mixing lower case, upper case and digits (or a long hex string) with high entropy."""
    if not text:
        return False
    if _KNOWN_PREFIX.search(text):
        return True
    for token in _TOKEN.findall(text):
        mixed = re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token)
        hexish = len(token) >= 32 and re.fullmatch(r"[0-9a-fA-F]+", token)
        if (mixed or hexish) and _entropy(token) >= 3.5:
            return True
    return False


def refuse_secrets(value: str) -> str:
    """Form and API validator: raises ValidationError (code "secret") without repeating the value."""
    if looks_like_secret(value):
        raise ValidationError(SECRET_MESSAGE, code="secret")
    return value


def clean_fingerprint(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if value.lower().startswith("sha256:"):
        value = value.lower()
    if not _FINGERPRINT.match(value):
        raise ValidationError("Not a fingerprint. " + FINGERPRINT_HELP, code="secret")
    return value


def observed_hash(value: str) -> str:
    """A keyed hash of a value the portal can read (a variable, a channel URL): changes when it does."""
    if not value:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


# Inventory ------------------------------------------------------------------------------


def _upsert(
    existing: dict[str, Secret], auto_key: str, *, observed: str | None = None, first_rotated: Any = None, **fields: Any
) -> Secret:
    """Create or bring up to date the registry row of one listed secret (a save only when it changed)."""
    secret = existing.get(auto_key)
    now = timezone.now()
    if secret is None:
        return Secret.objects.create(
            auto_key=auto_key,
            last_rotated_at=first_rotated or now,
            observed_hash=observed or "",
            **fields,
        )
    changed = {k: v for k, v in fields.items() if getattr(secret, k) != v}
    if secret.retired_at is not None:
        changed["retired_at"] = None
    if observed is not None and observed != secret.observed_hash:
        # The value changed since the portal last looked: that is a rotation, seen now.
        changed["observed_hash"] = observed
        if secret.observed_hash:
            changed["last_rotated_at"] = now
    for k, v in changed.items():
        setattr(secret, k, v)
    if changed:
        secret.save()
    return secret


def sync_inventory() -> dict[str, int]:
    """List the portal's own secrets in the registry; returns how many of each kind are live.

    Recorded in the audit log as the system's doing, also when an Admin's page view triggers it.
    """
    with audit.acting(None, AuditRecord.Channel.SYSTEM):
        return _sync_inventory()


def _sync_inventory() -> dict[str, int]:
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    existing = {s.auto_key: s for s in Secret.objects.filter(auto_key__isnull=False) if s.auto_key}
    for token in ApiToken.objects.select_related("user"):
        key = f"api-token:{token.pk}"
        if not token.is_active:
            continue
        seen.add(key)
        counts[SecretKind.API_TOKEN] += 1
        _upsert(
            existing,
            key,
            first_rotated=token.created_at,
            kind=SecretKind.API_TOKEN,
            name=f"API token '{token.name}' of {token.user.get_username()}"[:150],
            where_used="Ops Portal API (Authorization: Bearer)",
            owner=token.user.get_username(),
            fingerprint=token.display[:64],
        )
    channels = evidence("notification_channels") or {}
    for ch in channels.get("channels", []):
        key = f"channel:{ch['id']}"
        seen.add(key)
        counts[SecretKind.CHANNEL] += 1
        _upsert(
            existing,
            key,
            observed=ch.get("fingerprint") or "",
            first_rotated=ch.get("created_at"),
            kind=SecretKind.CHANNEL,
            name=f"Channel '{ch['name']}'"[:150],
            where_used=f"notification channel ({ch.get('kind', '')}); its URL holds the token"[:300],
        )
    creds = evidence("backup_credentials") or {}
    for var in creds.get("variables", []):
        key = f"variable:{var['name']}"
        seen.add(key)
        counts[SecretKind.VARIABLE] += 1
        _upsert(
            existing,
            key,
            observed=observed_hash(os.environ.get(var["name"], "")),
            kind=SecretKind.VARIABLE,
            name=var["name"][:150],
            where_used=("backups: " + ", ".join(var.get("used_by", [])))[:300],
        )
    certs = evidence("tls_certificates") or {}
    for cert in certs.get("certificates", []):
        key = f"certificate:{cert['service']}"
        seen.add(key)
        counts[SecretKind.CERTIFICATE] += 1
        _upsert(
            existing,
            key,
            kind=SecretKind.CERTIFICATE,
            name=f"TLS certificate of {cert.get('host') or cert['service']}"[:150],
            where_used=f"service {cert.get('name', cert['service'])}"[:300],
            expires_at=cert.get("expires_at"),
        )
    gone = [s for key, s in existing.items() if key not in seen and s.retired_at is None]
    for secret in gone:
        secret.retired_at = timezone.now()
        secret.save()
    return dict(counts)


# Rotation walk --------------------------------------------------------------------------


class RotationError(Exception):
    """A rotation step cannot be ticked (out of order, already done, rotation closed)."""


def start_rotation(secret: Secret, user: Any) -> Rotation:
    """Open a rotation with the runbook's four steps; returns the open one if there is one."""
    if not secret.rotatable:
        raise RotationError("this entry is not rotated here (a certificate is renewed, a retired entry is gone)")
    ctx = audit.current()
    with audit.acting(user or ctx.actor, ctx.channel, ctx.ip), transaction.atomic():
        Secret.objects.select_for_update().get(pk=secret.pk)
        existing = secret.open_rotation()
        if existing is not None:
            return existing
        rotation = Rotation.objects.create(secret=secret, started_by=user)
        for position, step in enumerate(ROTATION_STEPS, start=1):
            RotationStep.objects.create(rotation=rotation, step=step, position=position)
    return rotation


def tick_step(rotation: Rotation, step: str, user: Any, *, note: str = "", fingerprint: str = "") -> Rotation:
    """Tick one step (in the runbook's order). The fourth closes the rotation and moves the date."""
    refuse_secrets(note)
    new_fp = clean_fingerprint(fingerprint)
    ctx = audit.current()
    # The tick is the ticking person's, also when called from a command or a test.
    with audit.acting(user, ctx.channel, ctx.ip), transaction.atomic():
        rotation = Rotation.objects.select_for_update().get(pk=rotation.pk)
        if rotation.state != RotationState.OPEN:
            raise RotationError("this rotation is closed")
        steps = list(rotation.steps.select_for_update().order_by("position"))
        target = next((s for s in steps if s.step == step), None)
        if target is None:
            raise RotationError(f"unknown step {step!r}")
        if target.done:
            raise RotationError(f"'{target.get_step_display()}' is already ticked")
        earlier = [s for s in steps if s.position < target.position and not s.done]
        if earlier:
            raise RotationError(f"tick '{earlier[0].get_step_display()}' first")
        now = timezone.now()
        target.done_by, target.done_at, target.note = user, now, note[:300]
        target.save()
        if new_fp:
            rotation.new_fingerprint = new_fp
        if all(s.done for s in steps):
            rotation.state, rotation.finished_at = RotationState.DONE, now
            secret = rotation.secret
            secret.last_rotated_at = now
            if rotation.new_fingerprint:
                secret.fingerprint = rotation.new_fingerprint
            secret.save()
            transaction.on_commit(lambda: check_secret(secret))
        rotation.save()
    return rotation


def cancel_rotation(rotation: Rotation) -> None:
    with transaction.atomic():
        rotation = Rotation.objects.select_for_update().get(pk=rotation.pk)
        if rotation.state == RotationState.OPEN:
            rotation.state, rotation.finished_at = RotationState.CANCELLED, timezone.now()
            rotation.save()


# Due alerts -----------------------------------------------------------------------------


def alert_key(secret: Secret) -> str:
    return f"secret-rotation:{secret.pk}"


def check_secret(secret: Secret, now: Any = None) -> str:
    """Raise, escalate or resolve the rotation alert of one secret; returns its due state."""
    state = secret.due_state(now)
    if secret.kind == SecretKind.CERTIFICATE or secret.retired_at is not None or state == DueState.OK:
        resolve_alert(alert_key(secret), note="rotated (or no longer due)")
        return state
    overdue = state == DueState.OVERDUE
    when = timezone.localtime(secret.due_at).strftime("%Y-%m-%d")
    raise_alert(
        alert_key(secret),
        summary=f"Secret '{secret.name}' {'is overdue for rotation' if overdue else 'is due for rotation'} (due {when})",
        source="maintenance.secrets",
        severity="critical" if overdue else "warning",
        details={"secret_id": secret.pk, "due_at": secret.due_at.isoformat(), "owner": secret.owner},
        runbook=ROTATION_RUNBOOK,
    )
    return state


def check_all(now: Any = None) -> dict[str, int]:
    """Daily: sync the inventory, then alert on every secret due soon or overdue."""
    sync_inventory()
    states: Counter[str] = Counter()
    for secret in Secret.objects.all():
        states[check_secret(secret, now)] += 1
    return dict(states)
