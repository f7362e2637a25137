"""Core JSON API: who am I, user roles for admins, and this API's own OpenAPI description."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from . import openapi
from .access import api_error, api_view, json_body
from .apidoc import ANY_OBJECT, BOOL, INT, STR, Answer, Body, arr, component, describe, enum, null, obj, tag
from .roles import ROLES, role_of, set_role

User = get_user_model()

PORTAL = tag("Portal", "Who you are, users and their roles, the portal's health and metrics, this description.")
ROLE = null(enum(ROLES, "A role, or null for none."))
USER = component(
    "User",
    obj({"id": INT, "username": STR, "email": STR, "active": BOOL, "role": ROLE}),
)


@describe(
    "GET",
    "Who is calling",
    tag=PORTAL,
    answers={
        200: Answer(
            "The signed-in user (or the token's owner), their role, and the token used if any.",
            obj({"username": STR, "role": ROLE, "token": null(obj({"name": STR, "role": enum(ROLES)}))}),
        )
    },
)
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


@describe("GET", "Users and their roles", tag=PORTAL, answers={200: Answer("Every user.", obj({"results": arr(USER)}))})
@api_view("opsportal.manage_users")
def users(request: HttpRequest) -> JsonResponse:
    rows = User.objects.order_by("username").prefetch_related("groups")
    return JsonResponse({"results": [_user_json(u) for u in rows]})


@describe(
    "POST",
    "Give a user a role",
    tag=PORTAL,
    body=Body(
        obj({"role": ROLE}, optional=["role"], extra=True),
        "The new role (null or absent: no role).",
        example={"role": "Editor"},
    ),
    answers={200: Answer("The user with their new role.", USER)},
    errors=(400, 404),
    description="An admin cannot change their own role (400).",
)
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


@describe(
    "GET",
    "This description",
    tag=PORTAL,
    answers={200: Answer("The OpenAPI 3.1 description of every JSON endpoint.", ANY_OBJECT)},
    description="The console shows it as a page under API.",
)
@api_view("opsportal.view_console")
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.build(), json_dumps_params={"indent": 1})
