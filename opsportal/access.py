"""The one permission mechanism for console pages and JSON endpoints.

``console_view(perm)`` guards a page: anonymous users go to the sign-in page, signed-in users
without ``perm`` get 403. ``api_view(perm)`` guards a JSON endpoint: it accepts the session or
``Authorization: Bearer <token>``; anonymous gets 401, missing permission 403, both as JSON, and
an ``ApiError`` raised inside the view is answered as its JSON 4xx.
A token never has more than its owner: the permission must be held by the owner *and* by the
token's role. Every decorated view carries ``required_permission`` so the role-matrix test
can find a view that forgot to declare one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import audit, bodies
from .models import ApiToken
from .roles import role_permission_names
from .web import ApiError

View = Callable[..., HttpResponse]


def has_perm(request: HttpRequest, perm: str) -> bool:
    """Whether the request's user (limited by its API token, if any) holds ``perm``."""
    user = request.user
    if not user.is_authenticated or not user.is_active or not user.has_perm(perm):
        return False
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None:
        # One query per request, however many permissions the view and the page check.
        if not hasattr(request, "_token_role_perms"):
            request._token_role_perms = role_permission_names(token.role)  # type: ignore[attr-defined]
        return perm in request._token_role_perms  # type: ignore[attr-defined]
    return True


def console_view(perm: str, methods: Iterable[str] = ("GET", "HEAD")) -> Callable[[View], View]:
    allowed = {m.upper() for m in methods}

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_perm(request, perm):
                raise PermissionDenied
            if request.method not in allowed:
                return HttpResponse(status=405, headers={"Allow": ", ".join(sorted(allowed))})
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm  # type: ignore[attr-defined]
        return wrapper

    return decorator


def public_view(reason: str) -> Callable[[View], View]:
    """Marks a view that needs no sign-in (health, metrics, login); ``reason`` says why."""

    def decorator(view: View) -> View:
        view.required_permission = None  # type: ignore[attr-defined]
        view.public_reason = reason  # type: ignore[attr-defined]
        return view

    return decorator


def api_error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _bearer(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    checker = CsrfViewMiddleware(lambda r: HttpResponse())
    checker.process_request(request)
    return checker.process_view(request, lambda r: HttpResponse(), (), {})


def authenticate_api(request: HttpRequest) -> JsonResponse | None:
    """Authenticate a bearer token into request.user; return an error response or None."""
    plain = _bearer(request)
    if plain is None:
        if request.META.get("HTTP_AUTHORIZATION"):
            return api_error(401, "unsupported Authorization scheme; use 'Bearer <token>'")
        return None
    token = ApiToken.authenticate(plain)
    if token is None:
        return api_error(401, "invalid, expired or revoked token")
    request.user = token.user
    request.api_token = token
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 30:
        # Throttled so a busy client does not write on every request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=request.META.get("REMOTE_ADDR"))
    audit.set_actor(token.user)
    return None


def api_view(
    perm: str, methods: Iterable[str] = ("GET",), *, method_permissions: Mapping[str, str] | None = None
) -> Callable[[View], View]:
    """Guard a JSON endpoint with ``perm``; ``method_permissions`` ({"POST": perm}) adds one a method also needs."""
    allowed = {m.upper() for m in methods}
    also = {m.upper(): p for m, p in (method_permissions or {}).items()}
    if "GET" in allowed:
        allowed.add("HEAD")

    def decorator(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            error = authenticate_api(request)
            if error is not None:
                return error
            if not request.user.is_authenticated:
                return api_error(401, "authentication required", hint="send 'Authorization: Bearer <token>'")
            if request.method not in allowed:
                refused = api_error(405, f"method {request.method} not allowed", allowed=sorted(allowed))
                refused["Allow"] = ", ".join(sorted(allowed))  # RFC 9110 requires it (found by schemathesis)
                return refused
            for needed in (perm, also.get(request.method or "")):
                if needed and not has_perm(request, needed):
                    return api_error(403, "permission denied", required=needed)
            if getattr(request, "api_token", None) is None and request.method not in ("GET", "HEAD", "OPTIONS"):
                if _csrf_failure(request) is not None:
                    return api_error(403, "CSRF check failed; send the CSRF token or use a bearer token")
            try:
                bodies.check_query(request)
                return view(request, *args, **kwargs)
            except ApiError as exc:  # a client error raised by a helper (web.api_page, web.time_param ...)
                return exc.response()
            except bodies.BodyRefused as refused:
                return refused.response()

        wrapper.required_permission = perm  # type: ignore[attr-defined]
        wrapper.allowed_methods = frozenset(allowed)  # type: ignore[attr-defined]
        wrapper.method_permissions = also  # type: ignore[attr-defined]
        return wrapper

    return decorator


def json_body(
    request: HttpRequest,
    *,
    max_bytes: int | None = None,
    max_depth: int | None = None,
    require_type: bool = True,
    allow_empty: bool = True,
) -> Any:
    """The request's JSON document, checked by the one parsing layer (opsportal.bodies).

    Size (413), Content-Type (415), depth, NUL and lone surrogates, oversized numbers and NaN
    are refused with ``BodyRefused``, which ``api_view`` answers as JSON with every error's
    index and field. An empty body is None unless ``allow_empty`` is False.
    """
    return bodies.parse_json(
        request, max_bytes=max_bytes, max_depth=max_depth, require_type=require_type, allow_empty=allow_empty
    )
