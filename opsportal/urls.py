"""Root URLconf: core pages here, each domain app's URLs included by name."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from . import api, twofactor_views, views
from .access import console_view, public_view

admin.site.site_header = "Ops Portal administration"
admin.site.site_title = "Ops Portal admin"
admin.site.index_title = "Configuration"


def _admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin signs in through the portal's own sign-in (password, then the second factor)."""
    if request.user.is_authenticated:
        raise PermissionDenied  # signed in without admin access: a 403, not a loop through the sign-in page
    return redirect_to_login(request.GET.get("next") or "/admin/")


admin.site.login = _admin_login  # type: ignore[method-assign]

logout_view = public_view("signing out needs no permission")(auth_views.LogoutView.as_view())
password_change = console_view("opsportal.view_console", methods=("GET", "HEAD", "POST"))(
    auth_views.PasswordChangeView.as_view(template_name="registration/password_change.html")
)
password_change_done = console_view("opsportal.view_console")(
    auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html")
)

urlpatterns = [
    path("", include("monitoring.urls")),
    path("backups/", include("backups.urls")),
    path("maintenance/", include("maintenance.urls")),
    path("api/v1/", include("maintenance.urls_api")),
    path("login/", twofactor_views.login_view, name="login"),
    path("login/verify/", twofactor_views.login_verify, name="login_verify"),
    path("login/enrol/", twofactor_views.login_enrol, name="login_enrol"),
    path("logout/", logout_view, name="logout"),
    path("account/password/", password_change, name="password_change"),
    path("account/password/done/", password_change_done, name="password_change_done"),
    path("account/two-factor/", twofactor_views.two_factor, name="two_factor"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/two-factor/reset/", twofactor_views.two_factor_reset, name="two_factor_reset"),
    path("audit/", views.audit_log, name="audit"),
    path("jobs/", views.jobs, name="jobs"),
    path("api/health", views.api_health, name="api_health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/me", api.me, name="api_me"),
    path("api/v1/openapi.json", api.openapi_json, name="api_openapi"),
    path("api-docs/", views.api_docs, name="api_docs"),
    path("api/v1/users", api.users, name="api_users"),
    path("api/v1/users/<int:pk>/role", api.user_role, name="api_user_role"),
    path("metrics", views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "opsportal.errors.bad_request"
handler403 = "opsportal.errors.permission_denied"
handler404 = "opsportal.errors.not_found"
handler500 = "opsportal.errors.server_error"
