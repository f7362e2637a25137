"""The role matrix: for each URL and method, what anonymous, outsider, viewer, editor and admin get.

Each app lists its routes in ``tests/<app>/routes.py`` as ``ROUTES``; tests/test_role_matrix.py
walks every URL pattern of the project and fails when one is missing here, then requests each
route as each role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Expected status per role. Console: anonymous is sent to sign in (302).
READ = {"anon": 302, "outsider": 403, "viewer": 200, "editor": 200, "admin": 200}
EDIT = {"anon": 302, "outsider": 403, "viewer": 403, "editor": 200, "admin": 200}
ADMIN_ONLY = {"anon": 302, "outsider": 403, "viewer": 403, "editor": 403, "admin": 200}
ANY_SIGNED_IN = {"anon": 302, "outsider": 200, "viewer": 200, "editor": 200, "admin": 200}
# JSON API: anonymous gets 401.
API_READ = {"anon": 401, "outsider": 403, "viewer": 200, "editor": 200, "admin": 200}
API_EDIT = {"anon": 401, "outsider": 403, "viewer": 403, "editor": 200, "admin": 200}
API_ADMIN = {"anon": 401, "outsider": 403, "viewer": 403, "editor": 403, "admin": 200}


def on_success(expect: dict[str, int], code: int) -> dict[str, int]:
    """The same matrix with another status for the roles that are allowed (a POST that redirects)."""
    return {role: (code if status == 200 else status) for role, status in expect.items()}


@dataclass
class Route:
    name: str  # "namespace:name" as reverse() takes it
    expect: dict[str, int]
    method: str = "GET"
    # Builds URL kwargs (and any objects the route needs) from the users fixture.
    setup: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    data: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None
    content_type: str | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}{' ' + self.note if self.note else ''}"
