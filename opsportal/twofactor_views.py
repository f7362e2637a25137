"""Sign-in views: password, then the second factor (TOTP or a recovery code), enrolment, and an admin's reset.

django-axes counts a wrong second factor as a failed sign-in of that username from that address,
so the lockout covers both steps; a locked user is refused before any code is checked.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import user_has_device

from . import audit, twofactor
from .access import console_view, public_view
from .models import AuditRecord, RecoveryCodeDevice

User = get_user_model()


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, strip=True)


class PortalLoginView(LoginView):
    """Django's sign-in page; a user with (or owing) a second factor is only pending after the password."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not twofactor.needs_second_step(user):
            return super().form_valid(form)
        twofactor.start_pending(self.request, user, user.backend, self.get_success_url())
        if user_has_device(user, confirmed=True):
            return redirect("login_verify")
        return redirect("login_enrol")


login_view = public_view("the sign-in page")(PortalLoginView.as_view())


def _finish(request: HttpRequest, user: Any, data: dict[str, Any], device: Any) -> None:
    login(request, user, backend=data["backend"])
    otp_login(request, device)
    twofactor.clear_pending(request)


def _next_url(request: HttpRequest, data: dict[str, Any]) -> str:
    target = str(data.get("next") or "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _locked(request: HttpRequest, user: Any) -> HttpResponse | None:
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, credentials)
    return None


def _failed(request: HttpRequest, user: Any) -> None:
    """A wrong second factor: the same signal as a wrong password (axes counts it, the audit log records it)."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


@public_view("the second step of signing in: the password was accepted, the session holds a pending user")
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    user, data = twofactor.pending_user(request)
    if user is None or data is None:
        messages.info(request, "Sign in again: the sign-in waited too long for its second step.")
        return redirect("login")
    locked = _locked(request, user)
    if locked is not None:
        return locked
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.match_second_factor(user, form.cleaned_data["code"])
        if device is not None:
            _finish(request, user, data, device)
            if isinstance(device, RecoveryCodeDevice):
                left = device.remaining()
                messages.warning(
                    request, f"Signed in with a recovery code; {left} left. Make new ones under Two-factor sign-in."
                )
            return redirect(_next_url(request, data))
        _failed(request, user)
        if getattr(request, "axes_locked_out", False):
            return get_lockout_response(request, {"username": user.get_username()})
        form.add_error("code", "That code is not right (or was already used). Try the current code from your app.")
    return render(request, "registration/verify.html", {"form": form, "username": user.get_username()})


@public_view("enrolment during sign-in, for a user whose password was accepted and who must use a second factor")
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_enrol(request: HttpRequest) -> HttpResponse:
    user, data = twofactor.pending_user(request)
    if user is None or data is None:
        return redirect("login")
    locked = _locked(request, user)
    if locked is not None:
        return locked
    device = twofactor.pending_totp(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_totp(user, device, form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            _finish(request, user, data, device)
            return _show_codes(request, codes, _next_url(request, data))
        _failed(request, user)
        form.add_error(
            "code", "That code is not right. Scan the code again, or type the key, and try the current code."
        )
    return render(request, "registration/enrol.html", _enrol_context(device, form, required=True))


def _enrol_context(device: Any, form: CodeForm, *, required: bool) -> dict[str, Any]:
    return {
        "form": form,
        "qr": twofactor.qr_svg(device),
        "secret": twofactor.secret_text(device),
        "required": required,
    }


def _show_codes(request: HttpRequest, codes: list[str], next_url: str) -> HttpResponse:
    response = render(request, "registration/recovery_codes.html", {"codes": codes, "next": next_url})
    response["Cache-Control"] = "no-store"
    return response


@console_view("opsportal.view_console", methods=("GET", "HEAD", "POST"))
@sensitive_post_parameters("code")
@never_cache
def two_factor(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own second factor: turn on (QR code), make new recovery codes, turn off."""
    user = request.user
    form = CodeForm(request.POST or None)
    action = request.POST.get("action", "")
    if twofactor.enrolled(user):
        if request.method == "POST" and form.is_valid():
            device = twofactor.match_second_factor(user, form.cleaned_data["code"])
            if device is None:
                _failed(request, user)
                form.add_error("code", "That code is not right.")
            elif action == "codes":
                codes = twofactor.new_recovery_codes(user)
                audit.record(AuditRecord.Action.ACTION, user, summary="new recovery codes made")
                return _show_codes(request, codes, request.path)
            elif action == "disable" and not twofactor.required_for(user):
                twofactor.remove_second_factor(user, by=user, reason="two-factor sign-in turned off by its owner")
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("two_factor")
            else:
                form.add_error(None, "Two-factor sign-in is required for your role; it cannot be turned off.")
        recovery = RecoveryCodeDevice.objects.filter(user=user).first()
        return render(
            request,
            "opsportal/two_factor.html",
            {
                "form": form,
                "enrolled": True,
                "remaining": recovery.remaining() if recovery else 0,
                "required": twofactor.required_for(user),
            },
        )
    device = twofactor.pending_totp(user)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_totp(user, device, form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            return _show_codes(request, codes, request.path)
        form.add_error(
            "code", "That code is not right. Scan the code again, or type the key, and try the current code."
        )
    context = _enrol_context(device, form, required=twofactor.required_for(user))
    return render(request, "opsportal/two_factor.html", {**context, "enrolled": False})


@console_view("opsportal.manage_users", methods=("POST",))
def two_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin removes a user's second factor (lost phone and codes); the user enrols again at next sign-in."""
    target = get_object_or_404(User, pk=pk)
    removed = twofactor.remove_second_factor(
        target, by=request.user, reason=f"second factor reset by {request.user.get_username()}"
    )
    if removed:
        messages.success(
            request, f"{target.username}'s second factor was removed; they set it up again when signing in."
        )
    else:
        messages.info(request, f"{target.username} had no second factor.")
    return redirect("user_edit", pk=target.pk)
