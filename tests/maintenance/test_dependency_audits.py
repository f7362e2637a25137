"""Dependency audits: real pip-audit and npm audit reports ingested by upload and API, new serious
findings alert, fixed ones resolve on the next audit, malformed reports refused, the weekly self-audit."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maintenance import dependency_audits
from maintenance.models import DependencyAudit, DependencyFinding
from monitoring.models import Alert
from monitoring.public import evidence
from opsportal.models import AuditRecord, JobRun

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent / "samples"


def _post(token: str, name: str, project: str = "ops-portal") -> Any:
    return Client().post(
        reverse("maintenance_api:ingest_audits") + f"?project={project}",
        (SAMPLES / name).read_bytes(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_pip_audit_through_the_api_then_the_next_audit_resolves_what_is_fixed(
    token_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token = token_for("editor")
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(token, "pip-audit-2.10.1-osv.json")
    assert first.status_code == 201
    assert first.json() | {"audit": 0} == {
        "audit": 0, "project": "ops-portal", "tool": "pip-audit", "outcome": "complete", "packages_audited": 3,
        "findings": 3, "new": 3, "fixed": 0, "error": None,
    }  # fmt: skip
    open_rows = DependencyFinding.objects.filter(resolved_at__isnull=True)
    assert {(f.package, f.version, f.advisory_id, f.fixed_version) for f in open_rows} == {
        ("requests", "2.19.0", "PYSEC-2018-28", "2.20.0"),
        ("requests", "2.19.0", "PYSEC-2023-74", "2.31.0"),
        ("urllib3", "1.24.1", "PYSEC-2019-132", "1.24.2"),
    }
    # pip-audit rates nothing: unrated findings alert as if high (warning).
    alerts = Alert.objects.filter(source="maintenance.dependencies")
    assert alerts.count() == 3 and {a.severity for a in alerts} == {"warning"}
    assert all(a.runbook == "Dependency Security" for a in alerts)
    # The same report again: nothing new, no second alert.
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(token, "pip-audit-2.10.1-osv.json")
    assert again.json()["new"] == 0 and Alert.objects.filter(source="maintenance.dependencies").count() == 3
    # requests upgraded: its two findings are fixed and their alerts resolve.
    with django_capture_on_commit_callbacks(execute=True):
        nxt = _post(token, "pip-audit-2.10.1-osv-next.json")
    assert nxt.json()["fixed"] == 2 and nxt.json()["new"] == 0
    assert set(DependencyFinding.objects.filter(resolved_at__isnull=True).values_list("advisory_id", flat=True)) == {
        "PYSEC-2019-132"
    }
    resolved = Alert.objects.filter(source="maintenance.dependencies", state="resolved")
    assert {a.dedup_key.rsplit(":", 1)[1] for a in resolved} == {"PYSEC-2018-28", "PYSEC-2023-74"}
    assert DependencyAudit.objects.count() == 3
    assert AuditRecord.objects.filter(object_type="maintenance.dependencyaudit", action="create").count() == 3


def test_npm_audit_upload_alerts_on_high_and_critical_only(
    client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    upload = SimpleUploadedFile("npm.json", (SAMPLES / "npm-audit-11.19.1.json").read_bytes(), "application/json")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("editor").post(
            reverse("maintenance:audit_upload"), {"project": "frontend", "tool": "", "report": upload}, follow=True
        )
    assert b"4 findings, 4 new" in response.content
    rows = DependencyFinding.objects.filter(project="frontend")
    assert {(f.package, f.severity) for f in rows} == {
        ("lodash", "high"), ("lodash", "moderate"), ("minimist", "critical"),
    } and rows.count() == 4  # fmt: skip
    alerts = {
        a.dedup_key.rsplit(":", 1)[1]: a.severity for a in Alert.objects.filter(source="maintenance.dependencies")
    }
    assert alerts == {
        "GHSA-p6mc-m468-83gw": "warning",
        "GHSA-35jh-r3h4-6jhm": "warning",
        "GHSA-xvch-5gv4-984h": "critical",
    }
    page = client_for("viewer").get(reverse("maintenance:findings"))
    assert b"GHSA-xvch-5gv4-984h" in page.content and b"1.2.8" in page.content
    # maint1's checklist items read the evidence by name.
    facts = evidence("dependency_findings")
    assert facts["open"] == 4 and facts["open_by_severity"]["critical"] == 1 and facts["ok"] is False


def test_an_unreachable_advisory_service_is_recorded_as_such_and_resolves_nothing(
    token_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token = token_for("editor")
    with django_capture_on_commit_callbacks(execute=True):
        _post(token, "pip-audit-2.10.1-osv.json")
        offline = _post(token, "pip-audit-2.10.1-pypi-unreachable.json")
        npm_down = _post(token, "npm-audit-11.19.1-endpoint-405.json", project="frontend")
    assert offline.status_code == 202 and offline.json()["outcome"] == "unreachable"
    assert "could not audit any dependency" in offline.json()["error"]
    assert npm_down.status_code == 202 and "405" in npm_down.json()["error"]
    assert DependencyFinding.objects.filter(resolved_at__isnull=True).count() == 3  # nothing "fixed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"x": 1}', "not a pip-audit or npm audit report"),
        (b"[]", "not a pip-audit"),
    ],
)
def test_malformed_reports_are_refused_clearly_and_nothing_is_stored(token_for: Any, body: bytes, field: str) -> None:
    response = Client().post(
        reverse("maintenance_api:ingest_audits") + "?project=web",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for('editor')}",
    )
    assert response.status_code == 400 and field in response.json()["error"] and response.json()["field"] == "body"
    assert not DependencyAudit.objects.exists()


def test_the_api_names_a_missing_project_and_viewers_may_not_post(token_for: Any) -> None:
    url = reverse("maintenance_api:ingest_audits")
    sample = (SAMPLES / "npm-audit-11.19.1.json").read_bytes()
    no_project = Client().post(
        url, sample, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_for('editor')}"
    )
    assert no_project.status_code == 400 and no_project.json()["field"] == "project"
    viewer = Client().post(
        url + "?project=x", sample, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_for('viewer')}"
    )
    assert viewer.status_code == 403
    assert not DependencyAudit.objects.exists()


def test_the_weekly_self_audit_runs_real_pip_audit_and_reports_when_it_cannot_reach_the_service(tmp_path: Path) -> None:
    assert dependency_audits.pip_audit_command() is not None, "pip-audit is in requirements-dev.txt"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Django==5.2.19\nrequests==2.19.0\n")
    from maintenance.tasks_security import self_audit

    audit = dependency_audits.self_audit(requirements)
    assert audit is not None and audit.tool == "pip-audit" and audit.origin == "schedule"
    if audit.outcome == "complete":  # a machine that reaches PyPI's per-version JSON API
        assert audit.packages_audited == 2
    else:  # this machine: pypi.org's per-version endpoint answers 404, so nothing could be audited
        assert audit.outcome == "unreachable" and audit.error and audit.findings_count == 0
    # The task leaves a job row; an unreachable service is a FAILED job, never a silent success.
    with pytest.raises(RuntimeError) if audit.outcome != "complete" else contextlib.nullcontext():
        self_audit.run()
    job = JobRun.objects.get(kind="security: pip-audit of the portal")
    assert job.state == ("failed" if audit.outcome != "complete" else "succeeded")


json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["dependencies", "vulnerabilities", "name", "version", "vulns", "via", "id", "severity", "fix_versions", "message"]
    ) | st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_bodies | st.binary(max_size=200).map(lambda b: b))
def test_any_body_gets_a_json_answer_never_a_500(token_for: Any, body: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    before = DependencyAudit.objects.count()
    response = Client().post(
        reverse("maintenance_api:ingest_audits") + "?project=fuzz",
        raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for('editor')}",
    )
    assert response.status_code in (201, 202, 400), response.status_code
    payload = response.json()
    if response.status_code == 400:
        assert payload["error"] and payload["field"] == "body"
        assert DependencyAudit.objects.count() == before  # nothing stored


def test_the_security_overview_says_unknown_until_something_was_audited_or_registered(
    client_for: Any, token_for: Any
) -> None:
    """A green "0 open findings" before any audit ran, or "0 / 0 secrets due" with none registered,
    read as all clear when nothing was looked at."""
    page = client_for("admin").get(reverse("maintenance:security")).content.decode()
    assert 'class="stat st-unknown" href="/maintenance/security/dependencies/" data-testid="findings-open"' in page
    assert "no dependency audit yet: nothing is known to be clean" in page
    assert 'class="stat st-unknown"' in page.split('data-testid="secrets-due"')[0].rsplit("<a", 1)[1]
    assert "no secret registered: the runbook rotates API keys every 90 days" in page
    clean = {"dependencies": [{"name": "django", "version": "5.2.8", "vulns": []}], "fixes": []}
    answer = Client().post(
        reverse("maintenance_api:ingest_audits") + "?project=ops-portal", json.dumps(clean),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_for('editor')}",
    )  # fmt: skip
    assert answer.status_code == 201 and answer.json()["findings"] == 0
    page = client_for("admin").get(reverse("maintenance:security")).content.decode()
    assert (
        'class="stat st-up" href="/maintenance/security/dependencies/" data-testid="findings-open"><strong>0</strong>'
        in page
    )
