"""Helpers of the dashboard tests: the live form a page carries, and a refresh sent the way htmx sends it."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

LIVE_FORM = re.compile(r'<form id="svc-live"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ROW = re.compile(r'<tr (?:hx-swap-oob="true" )?id="(r-[^"]+)" data-service="([^"]+)"')


def live_items(body: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the live form in a page or a refresh answer."""
    match = LIVE_FORM.search(body)
    assert match, "no live form"
    return [(name, html.unescape(value)) for name, value in HIDDEN.findall(match.group(1))]


def refresh(client: Client, body: str, *extra: tuple[str, str], trigger: str = "svc-poll") -> HttpResponse:
    """What the page's poller (or one of its links, with ``extra``) asks for next."""
    query = urlencode([*extra, *live_items(body)])
    return client.get(
        reverse("monitoring:dashboard_services") + "?" + query, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER=trigger
    )


def rows(body: str) -> list[str]:
    """Slugs of the service rows in ``body``, in order."""
    return [slug for _id, slug in ROW.findall(body)]


def row_ids(body: str) -> list[str]:
    return [row_id for row_id, _slug in ROW.findall(body)]
