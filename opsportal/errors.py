"""Error pages: JSON under /api/, friendly HTML elsewhere; never a traceback."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def _page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields): JSON under /api/."""
    if isinstance(exception, RequestDataTooBig):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": "request body too large", "errors": [{"field": "body", "message": "request body too large"}]},
                status=413,
            )
        return _page(request, 413, "Too large", "The data sent is larger than this page accepts.")
    return _page(request, 400, "Bad request", "The request could not be read.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, "Not allowed", "Your role does not allow this page or action.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404, "Not found", "There is nothing here, or it is not visible to you.")


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "internal error; it has been logged"}, status=500)
    # No template context processors: they may be what failed.
    return HttpResponse(
        "<!doctype html><title>Error</title><h1>Something went wrong</h1>"
        "<p>The error has been logged. Try again, or tell an admin what you were doing.</p>",
        status=500,
    )
