"""The three roles (Viewer, Editor, Admin) and the permissions each one holds.

Roles are Django groups. The groups are created by a data migration; their permissions are
(re)synchronised after every ``migrate`` from the matrix below, because permissions of
models added by a later migration only exist once that migrate has run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

log = logging.getLogger(__name__)

VIEWER = "Viewer"
EDITOR = "Editor"
ADMIN = "Admin"
ROLES = (VIEWER, EDITOR, ADMIN)
RANK = {VIEWER: 1, EDITOR: 2, ADMIN: 3}
ROLE_CHOICES = [(r, r) for r in ROLES]

PORTAL_APPS = ("opsportal", "monitoring", "backups", "maintenance")

# View permissions a Viewer does not get: pages that can reveal secrets or who did what.
VIEWER_EXCLUDED = {
    "opsportal.view_auditrecord",
    "opsportal.view_apitoken",
    "opsportal.view_audit",
    "opsportal.manage_users",
    "opsportal.ingest_metrics",
    # The secrets registry and database care are Admins' (DESIGN.md, Roles).
    "maintenance.view_secret",
    "maintenance.view_rotation",
    "maintenance.view_rotationstep",
    "maintenance.view_vacuumrun",
    "maintenance.view_databasecare",
    # Channels are configuration (their targets and filters); Admins only, as the README's matrix says.
    "monitoring.view_notificationchannel",
}

# What an Editor may do on top of a Viewer (DESIGN.md, Roles). Names that do not exist yet
# (their model arrives in a later issue) are skipped until they do.
EDITOR_EXTRA = {
    "monitoring.add_service",
    "monitoring.change_service",
    "monitoring.delete_service",
    "monitoring.run_probe",
    "monitoring.acknowledge_alert",
    "monitoring.resolve_alert",
    "monitoring.comment_alert",
    "monitoring.add_alertcomment",
    "monitoring.add_silence",
    "monitoring.change_silence",
    "monitoring.delete_silence",
    "monitoring.add_maintenancewindow",
    "monitoring.change_maintenancewindow",
    "monitoring.delete_maintenancewindow",
    "monitoring.change_metric",
    "monitoring.add_agent",
    "monitoring.change_agent",
    "monitoring.test_modelprovider",
    # Pushing metric samples and deployment events: a CI or app token needs no Admin role.
    "opsportal.ingest_metrics",
    "maintenance.tick_checklist",
    "maintenance.execute_runbook",
    "maintenance.add_runbookexecution",
    "maintenance.change_runbookexecution",
    # Uploading or posting a dependency-audit report (a CI token needs no Admin role).
    "maintenance.add_dependencyaudit",
}

# Admins get every permission of these apps.
ADMIN_APPS = (*PORTAL_APPS, "auth", "django_celery_beat", "axes")


def _perm_q(names: set[str]) -> Q:
    q = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        q |= Q(content_type__app_label=app_label, codename=codename)
    return q


def permissions_for(role: str) -> Any:
    """The Permission queryset a role should hold."""
    view = Permission.objects.filter(content_type__app_label__in=PORTAL_APPS).filter(
        Q(codename__startswith="view_") | Q(codename="view_console")
    )
    viewer = view.exclude(_perm_q(VIEWER_EXCLUDED))
    if role == VIEWER:
        return viewer
    editor = Permission.objects.filter(Q(pk__in=viewer.values("pk")) | _perm_q(EDITOR_EXTRA))
    if role == EDITOR:
        return editor
    if role == ADMIN:
        return Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
    raise ValueError(f"unknown role {role!r}")


def roles_holding(perm: str) -> list[str]:
    """The roles whose group holds ``perm`` ("app.codename"), read from the matrix above (no query).

    The same rules as ``permissions_for``; tests/opsportal/test_openapi.py checks both agree on every permission.
    """
    app, _, codename = perm.partition(".")
    viewer = (
        app in PORTAL_APPS
        and (codename.startswith("view_") or codename == "view_console")
        and perm not in VIEWER_EXCLUDED
    )
    held = {VIEWER: viewer, EDITOR: viewer or perm in EDITOR_EXTRA, ADMIN: app in ADMIN_APPS}
    return [role for role in ROLES if held[role]]


def sync_role_permissions(**_: Any) -> None:
    """Make each role group hold exactly the permissions of the matrix."""
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def role_of(user: Any) -> str | None:
    """The user's role: the highest of their role groups (superusers are Admins)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_portal_role", False)
    if cached is not False:
        return cached
    names = {g.name for g in user.groups.all()}
    best = max((r for r in ROLES if r in names), key=RANK.__getitem__, default=None)
    user._portal_role = best
    return best


def set_role(user: Any, role: str | None) -> None:
    """Give ``user`` exactly one role; Admins also get access to the Django admin."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    keep = [g for g in user.groups.all() if g.name not in ROLES]
    groups = keep + ([Group.objects.get_or_create(name=role)[0]] if role else [])
    user.groups.set(groups)
    staff = role == ADMIN
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    user._portal_role = role
    for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        if hasattr(user, attr):
            delattr(user, attr)


def role_permission_names(role: str) -> set[str]:
    """The permission names ("app.codename") held by a role group (one query; callers cache per request)."""
    return {
        f"{app}.{code}"
        for app, code in Permission.objects.filter(group__name=role).values_list("content_type__app_label", "codename")
    }


def roles_up_to(role: str | None) -> list[str]:
    """Roles at or below ``role`` (what a token of this user may carry)."""
    if role is None:
        return []
    return [r for r in ROLES if RANK[r] <= RANK[role]]
