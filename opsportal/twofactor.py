"""Two-factor sign-in: who must use it, TOTP enrolment (django-otp, RFC 6238), recovery codes,
the pending sign-in between password and code, and the gate for sessions that lack the second factor.

A password alone never signs in a user who has a second factor (or must have one): the user is
only *pending* in the session until the code is right; then Django's login and django-otp's
login happen together. API tokens never pass through here (``api_view`` authenticates them).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .models import RECOVERY_ALPHABET, AuditRecord, RecoveryCode, RecoveryCodeDevice, recovery_digest
from .roles import ADMIN, role_of

RECOVERY_CODES = 10
PENDING = "opsportal_2fa_pending"
TOTP_NAME = "authenticator app"


# Policy -------------------------------------------------------------------------------------


def required_for(user: Any) -> bool:
    """Whether the TWO_FACTOR_REQUIRED setting makes ``user`` sign in with a second factor."""
    policy = settings.TWO_FACTOR_REQUIRED
    if policy == "everyone":
        return True
    return policy == "admins" and (user.is_superuser or role_of(user) == ADMIN)


def enrolled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def needs_second_step(user: Any) -> bool:
    return user_has_device(user, confirmed=True) or required_for(user)


# Enrolment ----------------------------------------------------------------------------------


def pending_totp(user: Any) -> TOTPDevice:
    """The user's unconfirmed TOTP device (made on first visit, kept until confirmed or replaced)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed in: base32 in groups of four."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (segno, pure Python)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff")


def confirm_totp(user: Any, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm ``device`` with a code from the app; returns the new recovery codes, or None if the code is wrong."""
    if device.confirmed or not device.verify_token(normalise_code(code)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(user)
        audit.record(
            AuditRecord.Action.ACTION, user, summary="two-factor sign-in turned on (authenticator app, recovery codes)"
        )
    return codes


def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the plain codes are returned once, never stored."""
    codes = [
        "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODES)
    ]
    with transaction.atomic():
        RecoveryCodeDevice.objects.filter(user=user).delete()
        device = RecoveryCodeDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        RecoveryCode.objects.bulk_create([RecoveryCode(device=device, digest=recovery_digest(c)) for c in codes])
    return codes


def remove_second_factor(user: Any, *, by: Any, reason: str) -> int:
    """Delete every second factor of ``user`` (TOTP and recovery codes); audited. Returns how many devices."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += RecoveryCodeDevice.objects.filter(user=user).delete()[1].get(RecoveryCodeDevice._meta.label, 0)
        audit.record(AuditRecord.Action.ACTION, user, summary=reason, actor=by)
    return removed


def normalise_code(code: str) -> str:
    return "".join(ch for ch in str(code) if not ch.isspace())[:32]


def match_second_factor(user: Any, code: str) -> Any:
    """The device that accepts ``code`` (a TOTP code or a recovery code), or None."""
    token = normalise_code(code)
    if not token:
        return None
    if token.isdigit():
        for device in TOTPDevice.objects.filter(user=user, confirmed=True):
            if device.verify_token(token):
                return device
        return None
    for device in RecoveryCodeDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(token):
            return device
    return None


# The pending sign-in ------------------------------------------------------------------------


def start_pending(request: HttpRequest, user: Any, backend: str, next_url: str) -> None:
    request.session[PENDING] = {"user": user.pk, "backend": backend, "at": time.time(), "next": next_url}


def pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | tuple[None, None]:
    """The user whose password was accepted in this session and who still owes a second factor."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict):
        return None, None
    if time.time() - float(data.get("at", 0)) > settings.TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    user = get_user_model().objects.filter(pk=data.get("user"), is_active=True).first()
    return (user, data) if user is not None else (None, None)


def clear_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)


# The gate -----------------------------------------------------------------------------------

OPEN_PATHS = ("/login/", "/logout/", "/account/two-factor/", "/static/", "/api/health", "/metrics")


class TwoFactorGateMiddleware:
    """A session whose user must use a second factor but has not (signed in before the setting, or
    before enrolling) reaches only the enrolment page and sign-out: pages redirect, JSON answers 403."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(OPEN_PATHS)
            and not user.is_verified()  # type: ignore[union-attr]
            and required_for(user)
        ):
            if request.path.startswith("/api/"):
                if request.META.get("HTTP_AUTHORIZATION"):
                    return self.get_response(request)  # a bearer token decides, not the session
                return JsonResponse({"error": "two-factor sign-in required; sign in again"}, status=403)
            if enrolled(user):
                logout(request)  # the password alone signed this session in: start over with both factors
                return redirect(f"{reverse('login')}?next={request.path}")
            return redirect("two_factor")
        return self.get_response(request)
