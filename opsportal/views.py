"""Core views: users and roles, API tokens, the audit log, own health and metrics."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from . import api_docs as api_page
from . import health, openapi, twofactor
from . import metrics as portal_metrics
from .access import console_view, public_view
from .apidoc import BOOL, STR, TIME, Answer, describe, described, enum, mapping, obj
from .forms import AuditFilterForm, TokenCreateForm, UserCreateForm, UserEditForm
from .models import ApiToken, AuditRecord, JobRun, JobTally
from .roles import role_of, set_role

User = get_user_model()


def _read_only(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but GET and HEAD (these two pages change nothing; no CSRF check applies)."""
    if request.method in ("GET", "HEAD"):
        return None
    body = {"error": f"method {request.method} not allowed", "allowed": ["GET", "HEAD"]}
    return JsonResponse(body, status=405, headers={"Allow": "GET, HEAD"})


HEALTH_STATUS = enum((health.HEALTHY, health.DEGRADED, health.UNHEALTHY))
HEALTH = obj(
    {
        "status": HEALTH_STATUS,
        "timestamp": TIME,
        "outbound_heartbeat": obj(
            {
                "configured": BOOL,
                "last_sent_at": {"type": ["string", "null"]},
                "last_attempt_at": STR,
                "last_result": STR,
            },
            optional=["last_sent_at", "last_attempt_at", "last_result"],
        ),
        "checks": mapping(
            obj(
                {
                    "status": HEALTH_STATUS,
                    "message": STR,
                    "details": described({"type": "object"}, "Signed-in callers only."),
                },
                optional=["details"],
            ),
            description="database, broker, cache, worker, scheduler, disk.",
        ),
    }
)
PORTAL = "Portal"  # the group declared by opsportal.api


FAVICON = "icons/favicon.svg"


@public_view("browsers ask for /favicon.ico on every site, signed in or not; it is the portal's icon")
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``: the icon every page links (``static/icons/favicon.svg``), for the
    browsers and tools that ask the fixed address (a JSON answer, the error page), so that no
    visit logs a "Not Found" warning."""
    response = HttpResponse(_favicon_bytes(), content_type="image/svg+xml")
    patch_cache_control(response, public=True, max_age=86400)
    return response


@functools.cache
def _favicon_bytes() -> bytes:
    found = finders.find(FAVICON)
    if not found:  # a checkout without static/: a 404 like any missing file, not a 500
        raise Http404(FAVICON)
    return Path(found).read_bytes()


@describe(
    "GET",
    "The portal's own health",
    tag=PORTAL,
    answers={
        200: Answer("Healthy or degraded (a worker or the scheduler not seen lately, a disk filling up).", HEALTH),
        503: Answer("Unhealthy: the database is unreachable or a disk is full.", HEALTH),
    },
    description="No sign-in needed: load balancers poll it. Anonymous callers get statuses and messages only.",
)
@public_view("load balancers and uptime checkers poll it without credentials; it shows no secret")
@csrf_exempt
@never_cache
def api_health(request: HttpRequest) -> HttpResponse:
    refused = _read_only(request)
    if refused is not None:
        return refused
    report = health.run_checks()
    if not request.user.is_authenticated:
        # Anonymous pollers get statuses and messages; host names and paths are for signed-in users.
        for check in report["checks"].values():
            check.pop("details", None)
    return JsonResponse(report, status=503 if report["status"] == health.UNHEALTHY else 200)


@describe(
    "GET",
    "Prometheus metrics",
    tag=PORTAL,
    answers={
        200: Answer("Prometheus text format.", STR, content_type="text/plain"),
        401: Answer(
            "METRICS_TOKEN is set and Authorization: Bearer <it> was not sent.", STR, content_type="text/plain"
        ),
    },
    description="Request counts and durations, Celery task counts, heartbeat ages, service states, open alerts, backup ages.",
)
@public_view("Prometheus scrapes it; optionally guarded by METRICS_TOKEN")
@csrf_exempt
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = _read_only(request)
    if refused is not None:
        return refused
    expected = settings.METRICS_TOKEN
    if expected:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return HttpResponse("metrics token required\n", status=401, content_type="text/plain")
    return HttpResponse(portal_metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


# Users and roles --------------------------------------------------------------------------


@console_view("opsportal.manage_users")
def users(request: HttpRequest) -> HttpResponse:
    rows = User.objects.order_by("username").prefetch_related("groups")
    return render(request, "opsportal/users.html", {"users": [(u, role_of(u)) for u in rows]})


@console_view("opsportal.manage_users", methods=("GET", "HEAD", "POST"))
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            set_role(user, form.cleaned_data["role"])
        messages.success(request, f"User {user.username} created as {form.cleaned_data['role']}.")
        return redirect("users")
    return render(request, "opsportal/user_form.html", {"form": form, "title": "New user"})


@console_view("opsportal.manage_users", methods=("GET", "HEAD", "POST"))
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    form = UserEditForm(request.POST or None, instance=user, initial={"role": role_of(user) or ""})
    if request.method == "POST" and form.is_valid():
        new_role = form.cleaned_data["role"] or None
        if user == request.user and (new_role != role_of(user) or not form.cleaned_data["is_active"]):
            form.add_error(None, "You cannot change your own role or deactivate yourself; ask another admin.")
        else:
            with transaction.atomic():
                form.save()
                if not user.is_superuser:
                    set_role(user, new_role)
            messages.success(request, f"User {user.username} saved.")
            return redirect("users")
    context = {
        "form": form,
        "title": f"Edit {user.username}",
        "target": user,
        "two_factor_on": twofactor.enrolled(user),
    }
    return render(request, "opsportal/user_form.html", context)


# API tokens -------------------------------------------------------------------------------


@console_view("opsportal.view_console", methods=("GET", "HEAD", "POST"))
def tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own API tokens: create (shown once) and list."""
    owner_role = role_of(request.user)
    form = TokenCreateForm(request.POST or None, owner_role=owner_role)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _token, new_token = ApiToken.issue(
            request.user, form.cleaned_data["name"], form.cleaned_data["role"], form.expires_at()
        )
        messages.success(request, "Token created. Copy it now: it will not be shown again.")
        form = TokenCreateForm(owner_role=owner_role)
    rows = ApiToken.objects.filter(user=request.user)
    return render(request, "opsportal/tokens.html", {"form": form, "tokens": rows, "new_token": new_token})


@console_view("opsportal.view_console", methods=("POST",))
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Only the owner's own tokens are visible here: someone else's is a 404.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        messages.success(request, f"Token {token.name} revoked.")
    return redirect("tokens")


# Audit log --------------------------------------------------------------------------------


@console_view("opsportal.view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    page = Paginator(form.narrow(AuditRecord.objects.all()), 50).get_page(request.GET.get("page"))
    return render(request, "opsportal/audit.html", {"form": form, "page": page, "query": form.query_string()})


# Scheduled jobs ---------------------------------------------------------------------------

RECENT_RUNS_PER_KIND = 40


@console_view("opsportal.view_jobrun")
def jobs(request: HttpRequest) -> HttpResponse:
    """What the scheduler ran: per kind, the last runs as a strip; below, the runs themselves.

    A fixed number of queries whatever the number of kinds: the last runs of every kind in one
    windowed query, the 24-hour counts in one grouped query, then the page of runs.
    """
    since = timezone.now() - dt.timedelta(hours=24)
    recent_runs = (
        JobRun.objects.annotate(
            rank=Window(RowNumber(), partition_by=F("kind"), order_by=[F("started_at").desc(), F("id").desc()])
        )
        .filter(rank__lte=RECENT_RUNS_PER_KIND)
        .order_by("kind", "rank")
    )
    recent: dict[str, list[JobRun]] = defaultdict(list)
    for run in recent_runs:
        recent[run.kind].append(run)
    # Every run counts, the idle ticks that leave no row too (JobTally: one row per kind and hour).
    day = {
        row["kind"]: row
        for row in JobTally.objects.filter(hour__gte=since.replace(minute=0, second=0, microsecond=0))
        .order_by()
        .values("kind")
        .annotate(runs=Sum("runs"), failed=Sum("failed"), idle=Sum("idle"))
    }
    kinds = sorted(set(recent) | set(day))
    summary = []
    for kind in kinds:
        runs = recent[kind]
        durations = [r.duration_ms for r in runs if r.duration_ms is not None]
        summary.append(
            {
                "kind": kind,
                "last": runs[0] if runs else None,
                "strip": list(reversed(runs)),
                "runs_24h": day.get(kind, {}).get("runs", 0),
                "failed_24h": day.get(kind, {}).get("failed", 0),
                "idle_24h": day.get(kind, {}).get("idle", 0),
                "avg_ms": sum(durations) / len(durations) if durations else None,
                "max_ms": max(durations) if durations else None,
            }
        )
    rows = JobRun.objects.all()
    kind, state = request.GET.get("kind", ""), request.GET.get("state", "")
    if kind:
        rows = rows.filter(kind=kind)
    if state in JobRun.State.values:
        rows = rows.filter(state=state)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "summary": summary,
        "page": page,
        "kinds": kinds,
        "kind": kind,
        "state": state,
        "states": JobRun.State.choices,
    }
    return render(request, "opsportal/jobs.html", context)


# The API page ------------------------------------------------------------------------------


@console_view("opsportal.view_console")
def api_docs(request: HttpRequest) -> HttpResponse:
    """Every JSON endpoint, read from the same description /api/v1/openapi.json serves."""
    return render(request, "opsportal/api_docs.html", api_page.page(openapi.build()))
