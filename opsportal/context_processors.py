"""Template context shared by every console page: the user's role and the navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .access import has_perm
from .roles import role_of

# (label, url name, permission). Sections whose app is not built yet stay in the layout,
# shown as not available, until their URL exists.
NAVIGATION = [
    ("Dashboard", "monitoring:dashboard", "opsportal.view_console"),
    ("Services", "monitoring:services", "monitoring.view_service"),
    ("Alerts", "monitoring:alerts", "monitoring.view_alert"),
    ("Agents", "monitoring:agents", "monitoring.view_agent"),
    ("Backups", "backups:index", "backups.view_backuprun"),
    ("Checklists", "maintenance:checklists", "maintenance.view_checklist"),
    ("Runbooks", "maintenance:runbooks", "maintenance.view_runbook"),
    ("Security", "maintenance:security", "maintenance.view_dependencyfinding"),
    ("Audit", "audit", "opsportal.view_audit"),
    ("API", "api_docs", "opsportal.view_console"),
    ("Admin", "users", "opsportal.manage_users"),
]


def portal(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    items = []
    path = request.path
    for label, name, perm in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            items.append({"label": label, "url": None, "active": False, "available": False})
            continue
        if not has_perm(request, perm):
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append({"label": label, "url": url, "active": active, "available": True})
    return {"nav_items": items, "user_role": role_of(request.user)}
