"""Ingest API: metric samples and deployment events pushed by other systems (bearer token, ingest permission).

A batch is all or nothing: one bad sample rejects the whole batch with 400 and the list of
every error found (index, field, message), and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from monitoring.alerts.alerting import DEPLOY_RUNBOOK
from monitoring.alerts.choices import Severity
from monitoring.alerts.public import raise_alert, resolve_alert
from monitoring.metrics import conf
from monitoring.metrics.evaluation import SampleIn, record_samples
from monitoring.metrics.models import Metric
from monitoring.services.choices import DeploymentStatus
from monitoring.services.models import Deployment, Service
from opsportal import bodies
from opsportal.access import api_error, api_view, json_body
from opsportal.apidoc import INT, NUM, SLUG, STR, TIME, Answer, Body, arr, describe, described, enum, null, obj, tag
from opsportal.web import iso, parse_time

SAMPLE_FIELDS = {"metric", "service", "value", "at"}
DEPLOYMENT_FIELDS = {"service", "version", "status", "at"}
FUTURE_SLACK = dt.timedelta(minutes=5)

INGEST = tag("Ingest", "Pushing data in: metric samples, deployments, agent runs, log lines, audits, OTLP.")
AT = {
    "description": "ISO-8601 with a zone, or Unix seconds; at most 5 minutes ahead, at most INGEST_MAX_AGE_DAYS old.",
    "anyOf": [TIME, NUM],
}
SAMPLE = obj(
    {
        "metric": described(STR, "A metric key of the catalog (memory_usage, api_p95 ...)."),
        "service": described(SLUG, "The service the sample is about."),
        "value": NUM,
        "at": AT,
    },
    optional=["service", "at"],
)
SAMPLES = Body(
    {"oneOf": [arr(SAMPLE, minItems=1), obj({"samples": arr(SAMPLE, minItems=1)})]},
    'A list of samples, or {"samples": [...]}; at most API_MAX_BATCH.',
    example={"samples": [{"metric": "memory_usage", "service": "api", "value": 71.5}]},
)
DEPLOYMENT_IN = obj(
    {
        "service": SLUG,
        "version": {"type": "string", "minLength": 1, "maxLength": 100},
        "status": enum(DeploymentStatus.values),
        "at": AT,
    },
    optional=["at"],
)
DEPLOYMENT = obj(
    {
        "id": INT,
        "service": SLUG,
        "version": STR,
        "status": enum(DeploymentStatus.values),
        "at": TIME,
        "alert": null(described(INT, "The alert a failed deployment raised.")),
    }
)


class Errors(list):
    def add(self, index: int | None, field: str, message: str) -> None:
        entry: dict[str, Any] = {"field": field, "message": message}
        if index is not None:
            entry = {"index": index, **entry}
        self.append(entry)


def parse_at(value: Any, now: dt.datetime) -> tuple[dt.datetime | None, str]:
    """A sample time from ISO-8601 (with a timezone) or Unix seconds, one PostgreSQL can store; (time, error)."""
    try:
        at = parse_time(value, unix=True)
    except ValueError as exc:
        return None, str(exc)
    if at > now + FUTURE_SLACK:
        return None, "is more than 5 minutes in the future"
    oldest = now - dt.timedelta(days=conf.INGEST_MAX_AGE_DAYS.get())
    if at < oldest:
        return None, f"is older than {conf.INGEST_MAX_AGE_DAYS.get()} days"
    return at, ""


def _batch(request: HttpRequest, key: str) -> tuple[list[Any] | None, JsonResponse | None]:
    """The list of items (a JSON list or ``{key: [...]}``), within the one batch limit (API_MAX_BATCH, 413)."""
    body = json_body(request, allow_empty=False)
    items = body.get(key) if isinstance(body, dict) else body
    return bodies.batch(items, key=key), None


@describe(
    "POST",
    "Push metric samples",
    tag=INGEST,
    body=SAMPLES,
    answers={200: Answer("Stored.", obj({"stored": INT, "series": INT}))},
    description="A batch is all or nothing: one bad sample refuses it with every error listed.",
)
@api_view("opsportal.ingest_metrics", methods=("POST",))
def ingest_metrics(request: HttpRequest) -> JsonResponse:
    items, error = _batch(request, "samples")
    if error is not None:
        return error
    assert items is not None
    now = timezone.now()
    errors = Errors()
    wanted_metrics = {i.get("metric") for i in items if isinstance(i, dict) and isinstance(i.get("metric"), str)}
    wanted_services = {i.get("service") for i in items if isinstance(i, dict) and isinstance(i.get("service"), str)}
    metrics = {m.key: m for m in Metric.objects.filter(key__in=wanted_metrics)}
    services = dict(Service.objects.filter(slug__in=wanted_services).values_list("slug", "pk"))
    samples: list[SampleIn] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.add(index, "sample", 'must be an object like {"metric": "memory_usage", "value": 42}')
            continue
        count = len(errors)
        for unknown in sorted(set(item) - SAMPLE_FIELDS):
            errors.add(index, str(unknown)[:50], "unknown field (allowed: metric, service, value, at)")
        metric_key, service_slug, value = item.get("metric"), item.get("service"), item.get("value")
        metric = metrics.get(metric_key) if isinstance(metric_key, str) else None
        if metric_key is None:
            errors.add(index, "metric", "is required")
        elif metric is None:
            errors.add(index, "metric", f"unknown metric {str(metric_key)[:60]!r}")
        service_id = None
        if service_slug is not None:
            if not isinstance(service_slug, str) or service_slug not in services:
                errors.add(index, "service", f"unknown service {str(service_slug)[:60]!r}")
            else:
                service_id = services[service_slug]
        if value is None:
            errors.add(index, "value", "is required")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors.add(index, "value", "must be a finite number")
        at = now
        if item.get("at") is not None:
            parsed, message = parse_at(item["at"], now)
            if message:
                errors.add(index, "at", message)
            at = parsed or now
        if metric is not None and len(errors) == count:
            label = f"push:{service_slug}" if service_id else "push"
            samples.append(SampleIn(metric.pk, label, float(value), at, service_id))
    if errors:
        return api_error(400, f"batch rejected with {len(errors)} error(s); nothing was stored", errors=errors)
    stored = record_samples(samples)
    return JsonResponse({"stored": stored, "series": len({(s.metric_id, s.label) for s in samples})})


@describe(
    "POST",
    "Report deployments",
    tag=INGEST,
    body=Body(
        {
            "oneOf": [
                DEPLOYMENT_IN,
                arr(DEPLOYMENT_IN, minItems=1),
                obj({"deployments": arr(DEPLOYMENT_IN, minItems=1)}),
            ]
        },
        'One deployment, a list of them, or {"deployments": [...]}.',
        example={"service": "api", "version": "2026.03.1", "status": "succeeded"},
    ),
    answers={
        201: Answer(
            'Stored: the deployment (one sent) or {"deployments": [...]}.',
            {"oneOf": [DEPLOYMENT, obj({"deployments": arr(DEPLOYMENT)})]},
        )
    },
)
@api_view("opsportal.ingest_metrics", methods=("POST",))
def ingest_deployments(request: HttpRequest) -> JsonResponse:
    """One deployment event (an object) or several (a list); a failed deployment raises an alert."""
    body = json_body(request, allow_empty=False)
    single = isinstance(body, dict) and "deployments" not in body
    items = [body] if single else (body.get("deployments") if isinstance(body, dict) else body)
    if not isinstance(items, list) or not items:
        message = 'send {"service": ..., "version": ..., "status": ...} or a list of them'
        return api_error(400, message, errors=[{"field": "body", "message": message}])
    bodies.batch(items, key="deployments")  # the one batch limit (API_MAX_BATCH): 413 beyond
    now = timezone.now()
    errors = Errors()
    services = {
        s.slug: s
        for s in Service.objects.filter(
            slug__in=[i["service"] for i in items if isinstance(i, dict) and isinstance(i.get("service"), str)]
        )
    }
    valid: list[tuple[Service, str, str, dt.datetime]] = []
    for index, item in enumerate(items):
        at_index = None if single else index
        if not isinstance(item, dict):
            errors.add(at_index, "deployment", "must be an object")
            continue
        count = len(errors)
        for unknown in sorted(set(item) - DEPLOYMENT_FIELDS):
            errors.add(at_index, str(unknown)[:50], "unknown field (allowed: service, version, status, at)")
        service = services.get(item.get("service")) if isinstance(item.get("service"), str) else None
        if service is None:
            errors.add(at_index, "service", "is required" if item.get("service") is None else "unknown service")
        version = item.get("version")
        if not isinstance(version, str) or not version.strip() or len(version) > 100:
            errors.add(at_index, "version", "is required: a text of at most 100 characters")
        status = item.get("status")
        if status not in DeploymentStatus.values:
            errors.add(at_index, "status", f"one of {', '.join(DeploymentStatus.values)}")
        at = now
        if item.get("at") is not None:
            parsed, message = parse_at(item["at"], now)
            if message:
                errors.add(at_index, "at", message)
            at = parsed or now
        if len(errors) == count and service is not None:
            valid.append((service, str(version).strip(), str(status), at))
    if errors:
        return api_error(400, f"rejected with {len(errors)} error(s); nothing was stored", errors=errors)
    results = []
    with transaction.atomic():
        for service, version, status, at in valid:
            deployment = Deployment.objects.create(
                service=service, version=version, status=status, at=at, reported_by=request.user
            )
            results.append({**_deployment_json(deployment), "alert": _alert_for(deployment)})
    return JsonResponse(results[0] if single else {"deployments": results}, status=201)


def _deployment_json(d: Deployment) -> dict[str, Any]:
    return {"id": d.pk, "service": d.service.slug, "version": d.version, "status": d.status, "at": iso(d.at)}


def _alert_for(deployment: Deployment) -> int | None:
    key = f"deployment:{deployment.service.slug}:failed"
    if deployment.status == DeploymentStatus.FAILED:
        alert = raise_alert(
            key,
            summary=f"Deployment of {deployment.version} to {deployment.service.name} failed",
            source="deployments",
            severity=Severity.CRITICAL,
            service=deployment.service,
            runbook=DEPLOY_RUNBOOK,
            details={"version": deployment.version, "deployment_id": deployment.pk},
        )
        return alert.pk
    if deployment.status in (DeploymentStatus.SUCCEEDED, DeploymentStatus.ROLLED_BACK):
        verb = "deployed" if deployment.status == DeploymentStatus.SUCCEEDED else "rolled back"
        resolve_alert(key, note=f"{deployment.version} {verb}")
    return None
