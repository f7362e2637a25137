"""Reading real pip-audit and npm audit JSON (samples from real runs) and refusing what is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance.audit_formats import AuditFormatError, parse

SAMPLES = Path(__file__).parent / "samples"


def _read(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_pip_audit_findings_by_package_version_advisory_and_fix() -> None:
    report = parse(_read("pip-audit-2.10.1-osv.json"))
    assert report.tool == "pip-audit" and report.complete and report.packages_audited == 3
    rows = {(f.package, f.version, f.advisory_id, f.fixed_version, f.severity) for f in report.findings}
    assert rows == {
        ("requests", "2.19.0", "PYSEC-2018-28", "2.20.0", "unknown"),
        ("requests", "2.19.0", "PYSEC-2023-74", "2.31.0", "unknown"),
        ("urllib3", "1.24.1", "PYSEC-2019-132", "1.24.2", "unknown"),
    }
    first = next(f for f in report.findings if f.advisory_id == "PYSEC-2018-28")
    assert set(first.aliases) == {"CVE-2018-18074", "GHSA-x84v-xcm2-53pg"}
    assert first.title.startswith("The Requests package before 2.20.0")


def test_pip_audit_that_could_not_reach_its_service_is_not_a_clean_result() -> None:
    report = parse(_read("pip-audit-2.10.1-pypi-unreachable.json"))
    assert report.findings == [] and report.packages_audited == 0
    assert len(report.skipped) == 3 and not report.complete
    assert "could not audit any dependency" in report.error


def test_npm_audit_findings_with_severity_range_and_fix() -> None:
    report = parse(_read("npm-audit-11.19.1.json"))
    assert report.tool == "npm-audit" and report.complete
    rows = {(f.package, f.advisory_id, f.severity, f.fixed_version, f.affected_range) for f in report.findings}
    assert rows == {
        ("lodash", "GHSA-p6mc-m468-83gw", "high", "4.18.1", ">=3.7.0 <4.17.19"),
        ("lodash", "GHSA-35jh-r3h4-6jhm", "high", "4.18.1", "<4.17.21"),
        ("lodash", "GHSA-29mw-wpgm-hmr9", "moderate", "4.18.1", "<4.17.21"),
        ("minimist", "GHSA-xvch-5gv4-984h", "critical", "1.2.8", "<0.2.4 || >=1.0.0 <1.2.6"),
    }
    assert report.packages_audited == 3


def test_npm_error_report_says_the_endpoint_was_unreachable() -> None:
    report = parse(_read("npm-audit-11.19.1-endpoint-405.json"))
    assert report.findings == [] and not report.complete
    assert "405 Method Not Allowed" in report.error


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "not a pip-audit or npm audit report"),
        (b'{"dependencies": [{"version": "1.0"}]}', "dependencies[0].name"),
        (b'{"dependencies": [{"name": "x", "version": "1", "vulns": [{"fix_versions": []}]}]}', "vulns[0].id"),
        (b'{"dependencies": [{"name": "x", "version": "1", "vulns": {}}]}', "dependencies[0].vulns"),
        (b'{"auditReportVersion": 2, "vulnerabilities": []}', "vulnerabilities: expected an object"),
        (
            b'{"auditReportVersion": 2, "vulnerabilities": {"a": {"via": [{"source": 1, "severity": "dire"}]}}}',
            "vulnerabilities.a.via[0].severity",
        ),
        (b'{"auditReportVersion": 1, "vulnerabilities": {}}', "auditReportVersion"),
        (b'{"advisories": {}, "metadata": {}}', "version 1 (npm 6)"),
    ],
)
def test_malformed_reports_are_refused_naming_the_field(body: bytes, message: str) -> None:
    with pytest.raises(AuditFormatError) as caught:
        parse(body)
    assert message in str(caught.value)


def test_a_report_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(AuditFormatError, match="larger than 5 MB"):
        parse(b" " * (5 * 1024 * 1024 + 1))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_either_parses_or_is_refused_with_a_message(value: object) -> None:
    try:
        report = parse(json.dumps(value))
    except AuditFormatError as exc:
        assert str(exc)
    else:
        assert report.tool in ("pip-audit", "npm-audit")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["dependencies", "vulnerabilities", "auditReportVersion", "message"]), json_values)
)
def test_near_miss_reports_never_raise_anything_but_a_format_error(value: dict) -> None:
    try:
        parse(json.dumps(value))
    except AuditFormatError:
        pass
