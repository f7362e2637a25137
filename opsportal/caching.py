"""The runbook's caching strategy applied to the portal's own responses.

Static content: hashed (manifest) files are cached a year and immutable (whitenoise, through
``static_headers``). Dynamic content: every console page and status API is ``no-store`` (live
state, CSRF tokens, user data). A few read APIs whose answer is safe to reuse briefly get a short
``private`` cache (never a shared one: they need sign-in), named here by URL name so no view has
to know about it. A response that set its own ``Cache-Control`` keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

ONE_YEAR = 365 * 24 * 3600
NO_STORE = "no-store"

# URL name -> seconds of private cache. The runbook: "API responses: Cache for 5 minutes,
# User data: Cache for 1 minute, Dynamic content: No cache". Live status (service states,
# alerts, health, /metrics) is dynamic content and stays out of this table.
PRIVATE_CACHE_SECONDS: dict[str, int] = {
    "api_me": 60,  # the caller's own user data
    "monitoring:api_service_results": 60,  # past probe results of one service
    "maintenance_api:report": 300,  # a monthly report (a closed month does not change)
}


def static_headers(headers: Any, path: str, url: str) -> None:
    """whitenoise ``ADD_HEADERS_FUNCTION``: hashed files a year, immutable (its own default is 10 years)."""
    if "immutable" in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"


def policy_for(request: HttpRequest, response: HttpResponse) -> str:
    """The Cache-Control value the strategy gives this response."""
    match = getattr(request, "resolver_match", None)
    seconds = PRIVATE_CACHE_SECONDS.get(match.view_name) if match else None
    if seconds and request.method in ("GET", "HEAD") and response.status_code == 200:
        return f"private, max-age={seconds}"
    return NO_STORE


class CacheStrategyMiddleware:
    """Sets Cache-Control on every dynamic response that did not choose one itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        value = policy_for(request, response)
        response["Cache-Control"] = value
        if value.startswith("private"):
            # A private answer depends on who asks: the session cookie or the bearer token.
            patch_vary_headers(response, ("Cookie", "Authorization"))
        return response
