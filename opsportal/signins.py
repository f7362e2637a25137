"""Sign-in history: every success, failure and lockout becomes a SignInEvent row.

Hooked to signals, not to a login view, so a login flow with a second factor records the same
way: Django sends ``user_logged_in`` when the session is finally created and
``user_login_failed`` when credentials are refused; django-axes sends ``user_locked_out``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from .middleware import client_ip
from .models import SignInEvent


def _agent(request: Any) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else ""


def _ip(request: Any) -> str | None:
    return client_ip(request) if request is not None else None


def _user_named(username: str) -> Any:
    if not username:
        return None
    model = get_user_model()
    return model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()


@receiver(user_logged_in, dispatch_uid="signin-success")
def _success(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    if user is None:
        return
    SignInEvent.objects.create(
        kind=SignInEvent.Kind.SUCCESS,
        username=user.get_username()[:150],
        user=user,
        ip=_ip(request),
        user_agent=_agent(request),
    )


@receiver(user_login_failed, dispatch_uid="signin-failure")
def _failure(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    SignInEvent.objects.create(
        kind=SignInEvent.Kind.FAILURE,
        username=username,
        user=_user_named(username),
        ip=_ip(request),
        user_agent=_agent(request),
    )


@receiver(user_locked_out, dispatch_uid="signin-lockout")
def _lockout(
    sender: Any, request: Any = None, username: str | None = None, ip_address: str | None = None, **_: Any
) -> None:
    name = str(username or "")[:150]
    SignInEvent.objects.create(
        kind=SignInEvent.Kind.LOCKOUT,
        username=name,
        user=_user_named(name),
        ip=ip_address or _ip(request),
        user_agent=_agent(request),
    )


def prune(now: dt.datetime | None = None) -> int:
    """Delete sign-in events older than SIGNIN_RETENTION_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SIGNIN_RETENTION_DAYS)
    deleted, _ = SignInEvent.objects.filter(at__lt=cutoff).delete()
    return deleted
