"""Shared web helpers: API errors and paging, time parsing and formatting, the filter-form base.

- ``ApiError``: raised anywhere inside an ``api_view``, answered as ``{"error": ..., "errors": {field: ...}}``.
- ``api_page(request, rows)``: one page of a JSON list. Every list endpoint answers
  ``{"count", "page", "pages", "next", "results"}`` where ``next`` is the absolute URL of the next
  page (None on the last); a malformed page or one past the end is a 400 naming ``page``.
- ``parse_time()`` reads every date-time a client sends (only ones PostgreSQL can store: offsets
  within ±15:59, in range); ``iso()`` writes every one the portal sends.
- ``FilterForm``: a GET form whose fields narrow a queryset through declared lookups.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from .bodies import storable_time

# -- errors ------------------------------------------------------------------------------------


class ApiError(Exception):
    """A client error with the field(s) it is about; ``api_view`` turns it into the JSON answer."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.extra = status, message, dict(errors or {}), extra

    @classmethod
    def field(cls, name: str, problem: str) -> ApiError:
        """A 400 about one parameter or body field: ``{"error": "name: problem", "errors": {name: problem}}``."""
        return cls(400, f"{name}: {problem}", {name: problem})

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"error": self.message, **self.extra}
        if self.errors:
            body["errors"] = self.errors
        return JsonResponse(body, status=self.status)


# -- times -------------------------------------------------------------------------------------

TIME_EXAMPLE = "2026-03-01T12:00:00Z"


def parse_time(value: Any, *, naive_is_utc: bool = False, unix: bool = False) -> dt.datetime:
    """An aware date-time from ISO-8601 text (``Z`` or an offset), or Unix seconds when ``unix``.

    A ``+`` of an offset that reached a query string unescaped (read back as a space) is restored.
    A time without a zone is refused unless ``naive_is_utc``. Raises ValueError with a message for
    the client that does not name the field (the caller knows it).
    """
    if unix and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("not a finite number of Unix seconds")
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("is out of range") from None
    either = " or Unix seconds" if unix else ""
    if not isinstance(value, str):
        raise ValueError(f"not an ISO-8601 time{either}")
    text = value.strip()
    if len(text) > 19 and text[-6] == " ":
        text = f"{text[:-6]}+{text[-5:]}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 time such as {TIME_EXAMPLE}{either}") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise ValueError("must include a timezone (for example Z or +02:00)")
        moment = moment.replace(tzinfo=dt.UTC)
    return storable_time(moment)  # what PostgreSQL stores: +23:59 is refused here, not by the database


def time_param(request: HttpRequest, name: str, *, naive_is_utc: bool = False) -> dt.datetime | None:
    """The query parameter ``name`` as a date-time (None when absent); ApiError naming it otherwise."""
    raw = request.GET.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw, naive_is_utc=naive_is_utc)
    except ValueError as exc:
        raise ApiError.field(name, str(exc)) from None


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 for the API (None stays None)."""
    return value.isoformat() if value is not None else None


# -- API paging --------------------------------------------------------------------------------


def page_link(request: HttpRequest, **params: Any) -> str:
    """The absolute URL of this request with ``params`` replaced (the other parameters kept)."""
    query = request.GET.copy()
    for key, value in params.items():
        query[key] = str(value)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def api_page(request: HttpRequest, rows: QuerySet[Any], *, size: int | None = None) -> tuple[Page, dict[str, Any]]:
    """(the requested page, its envelope without ``results``): count, page, pages, next (a URL or None)."""
    paginator = Paginator(rows, size or settings.API_PAGE_SIZE)
    raw = request.GET.get("page", "1")
    problem = f"a whole number from 1 to {paginator.num_pages}"
    if not raw.isdigit():
        raise ApiError.field("page", problem)
    try:
        page = paginator.page(int(raw))
    except EmptyPage:
        raise ApiError.field("page", problem) from None
    envelope = {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "next": page_link(request, page=page.number + 1) if page.has_next() else None,
    }
    return page, envelope


def limit_param(request: HttpRequest, name: str = "limit") -> int:
    """A row limit from 1 to API_PAGE_SIZE (default: API_PAGE_SIZE)."""
    top = settings.API_PAGE_SIZE
    raw = request.GET.get(name, str(top))
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        raise ApiError.field(name, f"a whole number from 1 to {top}")
    return int(raw)


# -- filter forms ------------------------------------------------------------------------------

Lookup = str | tuple[str, ...] | Callable[[QuerySet[Any], Any], QuerySet[Any]]


class FilterForm(forms.Form):
    """A GET form that narrows a queryset.

    ``lookups`` maps a field to a lookup (``"kind"``), several joined by OR
    (``("name__icontains", "url__icontains")``) or a function ``(queryset, value) -> queryset``.
    Fields ``since`` and ``until`` (dates) narrow ``date_field`` to whole days in the current zone.
    Empty fields, and an invalid form, narrow nothing.
    """

    lookups: ClassVar[dict[str, Lookup]] = {}
    date_field: ClassVar[str] = ""

    def narrow(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.is_bound or not self.is_valid():
            return queryset
        data = self.cleaned_data
        for name, lookup in self.lookups.items():
            value = data.get(name)
            if value in (None, "", [], ()):
                continue
            if callable(lookup):
                queryset = lookup(queryset, value)
            elif isinstance(lookup, tuple):
                either = Q()
                for each in lookup:
                    either |= Q(**{each: value})
                queryset = queryset.filter(either)
            else:
                queryset = queryset.filter(**{lookup: value})
        if self.date_field:
            zone = timezone.get_current_timezone()
            if data.get("since"):
                start = dt.datetime.combine(data["since"], dt.time(), zone)
                queryset = queryset.filter(**{f"{self.date_field}__gte": start})
            if data.get("until"):
                end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time(), zone)
                queryset = queryset.filter(**{f"{self.date_field}__lt": end})
        return queryset

    def query_string(self) -> str:
        """The filters in use as a query string, for links that keep them (pages, exports, refresh)."""
        if not self.is_bound or not self.is_valid():
            return ""
        used = {
            name: self.data.get(name, "")
            for name in self.fields
            if self.cleaned_data.get(name) not in (None, "", [], ())
        }
        return urlencode(used)
