"""Silences through the JSON API (Alertmanager's amtool workflow): list, create, expire.

``GET /api/v1/silences`` (viewers and up; ``?state=active|pending|expired|all``, default the ones
not yet ended), ``POST /api/v1/silences`` and ``POST /api/v1/silences/<id>/expire`` (editors and
their tokens). A silence has matchers (``service`` slug, ``tag`` name, ``key_prefix`` of the
alert key, ``severity``: at least one), a ``reason``, an ``ends_at`` and optionally a
``starts_at``; its creator is the caller. A bad body is refused whole with every field named.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from monitoring.alerts.choices import Severity
from monitoring.alerts.models import Recurrence, Silence
from monitoring.services.models import Service, Tag
from opsportal.access import api_error, api_view, json_body
from opsportal.apidoc import (
    INT,
    STR,
    TIME,
    Answer,
    Body,
    arr,
    component,
    describe,
    described,
    enum,
    null,
    obj,
    query,
    tag,
)
from opsportal.web import parse_time

FIELDS = {"service", "tag", "key_prefix", "severity", "reason", "starts_at", "ends_at"}
STATES = ("current", "active", "pending", "expired", "all")

SILENCES = tag("Silences", "Silences: matchers that hold the notifications of the alerts they match until they end.")
SILENCE = component(
    "Silence",
    obj(
        {
            "id": INT,
            "matchers": obj({"service": null(STR), "tag": null(STR), "key_prefix": null(STR), "severity": null(STR)}),
            "matches": described(STR, "The matchers, for people."),
            "recurrence": enum(Recurrence.values),
            "starts_at": TIME,
            "ends_at": null(TIME),
            "reason": STR,
            "created_by": null(STR),
            "created_at": TIME,
            "state": enum(("active", "pending", "expired")),
        }
    ),
)
NEW_SILENCE = obj(
    {
        "service": described(STR, "A service slug."),
        "tag": described(STR, "A tag name."),
        "key_prefix": described({"type": "string", "maxLength": 200}, "The start of the alerts' dedup keys."),
        "severity": enum(Severity.values),
        "reason": {"type": "string", "minLength": 1, "maxLength": 300},
        "starts_at": described(TIME, "Default: now."),
        "ends_at": described(TIME, "In the future, after starts_at."),
    },
    optional=["service", "tag", "key_prefix", "severity", "starts_at"],
    description="At least one of service, tag, key_prefix, severity.",
)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def silence_json(silence: Silence, now: dt.datetime) -> dict[str, Any]:
    ended = silence.ends_at is not None and silence.ends_at <= now
    state = "expired" if ended else ("active" if silence.is_active(now) else "pending")
    return {
        "id": silence.pk,
        "matchers": {
            "service": silence.service.slug if silence.service_id else None,
            "tag": silence.tag.name if silence.tag_id else None,
            "key_prefix": silence.key_prefix or None,
            "severity": silence.severity or None,
        },
        "matches": silence.matcher_display,
        "recurrence": silence.recurrence,
        "starts_at": _iso(silence.starts_at),
        "ends_at": _iso(silence.ends_at),
        "reason": silence.reason,
        "created_by": silence.created_by.get_username() if silence.created_by_id else None,
        "created_at": _iso(silence.created_at),
        "state": state,
    }


def _time(raw: Any, name: str, errors: dict[str, str]) -> dt.datetime | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return parse_time(raw)  # the portal's one time parser: an offset or Z is required
        except ValueError:
            pass
    errors[name] = "an ISO-8601 date-time with a timezone, e.g. 2026-03-01T02:00:00Z"
    return None


def _parse(body: Any, now: dt.datetime) -> tuple[Silence | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        return None, {"body": 'a JSON object, e.g. {"service": "api", "reason": "deploy", "ends_at": "…"}'}
    for name in sorted(set(body) - FIELDS):
        errors[name] = f"unknown field; use {', '.join(sorted(FIELDS))}"
    for name in ("service", "tag", "key_prefix", "severity", "reason"):
        if body.get(name) is not None and not isinstance(body[name], str):
            errors[name] = "a string"
    silence = Silence(recurrence=Recurrence.ONCE, starts_at=now)
    if isinstance(body.get("service"), str) and body["service"]:
        silence.service = Service.objects.filter(slug=body["service"]).first()
        if silence.service is None:
            errors["service"] = f"no service with slug {body['service'][:100]!r}"
    if isinstance(body.get("tag"), str) and body["tag"]:
        silence.tag = Tag.objects.filter(name=body["tag"]).first()
        if silence.tag is None:
            errors["tag"] = f"no tag named {body['tag'][:50]!r}"
    if isinstance(body.get("key_prefix"), str):
        if len(body["key_prefix"]) > 200:
            errors["key_prefix"] = "at most 200 characters"
        silence.key_prefix = body["key_prefix"][:200]
    if isinstance(body.get("severity"), str) and body["severity"]:
        if body["severity"] not in Severity.values:
            errors["severity"] = f"one of {', '.join(Severity.values)}"
        silence.severity = body["severity"]
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        errors.setdefault("reason", "required: why these alerts are silenced")
    elif len(reason) > 300:
        errors["reason"] = "at most 300 characters"
    else:
        silence.reason = reason.strip()
    starts = _time(body.get("starts_at"), "starts_at", errors)
    if starts is not None:
        silence.starts_at = starts
    if "ends_at" not in body:
        errors["ends_at"] = "required: when the silence ends (ISO-8601 with a timezone)"
    else:
        silence.ends_at = _time(body.get("ends_at"), "ends_at", errors)
    if not errors:
        if not (silence.service_id or silence.tag_id or silence.key_prefix or silence.severity):
            errors["matchers"] = "give at least one of service, tag, key_prefix, severity"
        elif silence.ends_at is not None and silence.ends_at <= max(silence.starts_at, now):
            errors["ends_at"] = "must be in the future and after starts_at"
    return (None if errors else silence), errors


@describe(
    "GET",
    "List silences",
    tag=SILENCES,
    params=[query("state", enum(STATES), "current (the default: not yet ended), active, pending, expired or all.")],
    answers={200: Answer("At most 500 silences, newest first.", obj({"count": INT, "results": arr(SILENCE)}))},
    errors=(400,),
)
@describe(
    "POST",
    "Create a silence",
    tag=SILENCES,
    body=Body(
        NEW_SILENCE,
        "The silence; its creator is the caller.",
        example={"service": "api", "reason": "deploy of 2026.03.1", "ends_at": "2099-01-01T02:00:00Z"},
    ),
    answers={201: Answer("The silence created.", SILENCE)},
)
@api_view("monitoring.view_silence", methods=("GET", "POST"), method_permissions={"POST": "monitoring.add_silence"})
def silences(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return _create(request)
    now = timezone.now()
    state = request.GET.get("state", "current")
    if state not in STATES:
        return api_error(400, "invalid filter", errors={"state": f"one of {', '.join(STATES)}"})
    rows = Silence.objects.select_related("service", "tag", "created_by").order_by("-starts_at", "-id")
    if state != "all":
        ended = Q(ends_at__isnull=False, ends_at__lte=now)
        rows = rows.filter(ended) if state == "expired" else rows.exclude(ended)
    results = [silence_json(s, now) for s in rows[:500]]
    if state in ("active", "pending"):
        results = [r for r in results if r["state"] == state]
    return JsonResponse({"count": len(results), "results": results})


def _create(request: HttpRequest) -> JsonResponse:
    try:
        body = json_body(request, max_bytes=64 * 1024)
    except ValueError as exc:
        return api_error(400, str(exc), errors={"body": str(exc)})
    now = timezone.now()
    silence, errors = _parse(body, now)
    if silence is None:
        return api_error(400, "invalid silence", errors=errors)
    silence.created_by = request.user
    with transaction.atomic():
        silence.save()  # audited through the Silence registration
    return JsonResponse(silence_json(silence, now), status=201)


@describe(
    "POST",
    "End a silence now",
    tag=SILENCES,
    answers={200: Answer("The silence, ended.", SILENCE)},
    errors=(404, 409),
)
@api_view("monitoring.change_silence", methods=("POST",))
def silence_expire(request: HttpRequest, pk: int) -> JsonResponse:
    silence = get_object_or_404(Silence.objects.select_related("service", "tag", "created_by"), pk=pk)
    now = timezone.now()
    if silence.ends_at is not None and silence.ends_at <= now:
        return api_error(409, "the silence has already ended", ends_at=_iso(silence.ends_at))
    silence.ends_at = now
    silence.starts_at = min(silence.starts_at, now - dt.timedelta(microseconds=1))
    with transaction.atomic():
        silence.save(update_fields=["starts_at", "ends_at"])
    return JsonResponse(silence_json(silence, now))
