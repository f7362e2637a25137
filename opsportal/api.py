"""Core JSON API: who am I, and user roles for admins."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from .access import api_error, api_view, json_body
from .roles import ROLES, role_of, set_role

User = get_user_model()


@api_view("opsportal.view_console")
def me(request: HttpRequest) -> JsonResponse:
    token = getattr(request, "api_token", None)
    return JsonResponse(
        {
            "username": request.user.get_username(),
            "role": role_of(request.user),
            "token": {"name": token.name, "role": token.role} if token else None,
        }
    )


def _user_json(user: object) -> dict[str, object]:
    return {
        "id": user.pk,  # type: ignore[attr-defined]
        "username": user.get_username(),  # type: ignore[attr-defined]
        "email": user.email,  # type: ignore[attr-defined]
        "active": user.is_active,  # type: ignore[attr-defined]
        "role": role_of(user),
    }


@api_view("opsportal.manage_users")
def users(request: HttpRequest) -> JsonResponse:
    rows = User.objects.order_by("username").prefetch_related("groups")
    return JsonResponse({"results": [_user_json(u) for u in rows]})


@api_view("opsportal.manage_users", methods=("POST",))
def user_role(request: HttpRequest, pk: int) -> JsonResponse:
    user = get_object_or_404(User, pk=pk)
    try:
        body = json_body(request)
    except ValueError as exc:
        return api_error(400, str(exc))
    role = body.get("role") if isinstance(body, dict) else None
    if role is not None and role not in ROLES:
        return api_error(400, "invalid role", errors={"role": f"must be one of {', '.join(ROLES)} or null"})
    if user == request.user:
        return api_error(400, "you cannot change your own role")
    with transaction.atomic():
        set_role(user, role)
    return JsonResponse(_user_json(user))
