"""Access review (Admins): sign-in history with filters and CSV, users with role, last sign-in,
two-factor state and tokens, for the runbook's monthly "Review access logs"."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from opsportal.access import console_view
from opsportal.models import SignInEvent
from opsportal.roles import role_of

from .forms_security import SignInFilterForm


def _filtered(request: HttpRequest) -> tuple[SignInFilterForm, QuerySet[SignInEvent]]:
    form = SignInFilterForm(request.GET or None)
    rows = form.narrow(SignInEvent.objects.select_related("user"))
    return form, rows


def two_factor_state(user: Any) -> str:
    """ "on" / "off" when a two-factor library is installed, else "not available"."""
    if not apps.is_installed("django_otp"):
        return "not available"
    from django_otp import user_has_device

    return "on" if user_has_device(user, confirmed=True) else "off"


@console_view("opsportal.view_audit")
def access_review(request: HttpRequest) -> HttpResponse:
    form, rows = _filtered(request)
    month_ago = timezone.now() - dt.timedelta(days=30)
    users = (
        get_user_model()
        .objects.prefetch_related("groups")
        .annotate(
            last_sign_in=Max("sign_ins__at", filter=Q(sign_ins__kind=SignInEvent.Kind.SUCCESS)),
            failures_30d=Count(
                "sign_ins",
                filter=Q(sign_ins__kind=SignInEvent.Kind.FAILURE, sign_ins__at__gte=month_ago),
                distinct=True,
            ),
            active_tokens=Count(
                "api_tokens",
                filter=Q(api_tokens__revoked_at__isnull=True)
                & (Q(api_tokens__expires_at__isnull=True) | Q(api_tokens__expires_at__gt=timezone.now())),
                distinct=True,
            ),
        )
        .order_by("username")
    )
    people = [
        {"user": u, "role": role_of(u) or "no role", "two_factor": two_factor_state(u), "last": u.last_sign_in}
        for u in users
    ]
    counts = dict(
        SignInEvent.objects.filter(at__gte=month_ago)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "maintenance/security/access.html",
        {
            "form": form,
            "page": Paginator(rows, 50).get_page(request.GET.get("page")),
            "query": query.urlencode(),
            "people": people,
            "counts": counts,
        },
    )


@console_view("opsportal.view_audit")
def access_review_csv(request: HttpRequest) -> HttpResponse:
    _form, rows = _filtered(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sign-in-history.csv"'
    writer = csv.writer(response)
    writer.writerow(["time", "result", "username", "account", "address", "user agent"])
    for e in rows.iterator(chunk_size=1000):
        writer.writerow(
            [
                e.at.isoformat(),
                e.kind,
                _safe(e.username),
                e.user.get_username() if e.user else "",
                e.ip or "",
                _safe(e.user_agent),
            ]
        )
    return response


def _safe(value: str) -> str:
    """Keep a spreadsheet from running a typed-in formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
