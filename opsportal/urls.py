"""Root URLconf: core pages here, each domain app's URLs included by name."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import api, views
from .access import console_view, public_view

admin.site.site_header = "Ops Portal administration"
admin.site.site_title = "Ops Portal admin"
admin.site.index_title = "Configuration"

login_view = public_view("the sign-in page")(
    auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True)
)
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
    path("login/", login_view, name="login"),
    path("logout/", logout_view, name="logout"),
    path("account/password/", password_change, name="password_change"),
    path("account/password/done/", password_change_done, name="password_change_done"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("audit/", views.audit_log, name="audit"),
    path("jobs/", views.jobs, name="jobs"),
    path("api/health", views.api_health, name="api_health"),
    path("api/v1/me", api.me, name="api_me"),
    path("api/v1/users", api.users, name="api_users"),
    path("api/v1/users/<int:pk>/role", api.user_role, name="api_user_role"),
    path("metrics", views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "opsportal.errors.bad_request"
handler403 = "opsportal.errors.permission_denied"
handler404 = "opsportal.errors.not_found"
handler500 = "opsportal.errors.server_error"
