"""Sign-in, sign-out and failed sign-in attempts go to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit
from .middleware import channel_for, client_ip
from .models import AuditRecord


def _channel(request: Any) -> str:
    return channel_for(request.path) if request is not None else AuditRecord.Channel.SYSTEM


@receiver(user_logged_in, dispatch_uid="audit-login")
def _logged_in(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    with audit.acting(user, _channel(request), client_ip(request) if request else None):
        audit.record(AuditRecord.Action.LOGIN, user, summary="signed in")


@receiver(user_logged_out, dispatch_uid="audit-logout")
def _logged_out(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    if user is None:
        return
    with audit.acting(user, _channel(request), client_ip(request) if request else None):
        audit.record(AuditRecord.Action.LOGOUT, user, summary="signed out")


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    with audit.acting(None, _channel(request), client_ip(request) if request else None):
        audit.record(
            AuditRecord.Action.LOGIN_FAILED,
            object_type="auth.user",
            object_repr=username,
            summary=f"failed sign-in for {username!r}",
        )
