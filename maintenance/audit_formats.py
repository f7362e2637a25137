"""Readers of dependency-audit reports: ``pip-audit --format json`` and ``npm audit --json``.

Each reader turns the tool's JSON into a ``ParsedAudit``: the findings (package, version,
advisory id, severity, fixed version), what the tool could not audit, and, when the tool's
output is itself an error report (its advisory service was unreachable), that message instead
of an empty "no findings". A file that is neither format raises ``AuditFormatError`` naming the
field at fault. Formats as pip-audit 2.10 and npm 11 print them (samples in tests/maintenance/samples).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_BYTES = 5 * 1024 * 1024
MAX_FINDINGS = 10_000
SEVERITIES = ("critical", "high", "moderate", "low", "info", "unknown")
_GHSA = re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}")


class AuditFormatError(ValueError):
    """The uploaded report is not a pip-audit or npm audit JSON report; the message says where."""


@dataclass(frozen=True)
class ParsedFinding:
    package: str
    version: str  # installed version (pip-audit); npm's report has none, only the affected range
    advisory_id: str
    severity: str  # one of SEVERITIES; pip-audit does not rate, so its findings are "unknown"
    fixed_version: str = ""
    aliases: tuple[str, ...] = ()
    title: str = ""
    url: str = ""
    affected_range: str = ""

    @property
    def key(self) -> str:
        """What identifies a finding from one audit to the next: the package and the advisory."""
        return f"{self.package.lower()}|{self.advisory_id}"


@dataclass
class ParsedAudit:
    tool: str  # "pip-audit" or "npm-audit"
    findings: list[ParsedFinding] = field(default_factory=list)
    packages_audited: int = 0
    skipped: list[str] = field(default_factory=list)  # "name: reason"
    error: str = ""  # the tool could not reach its advisory service (nothing was audited)

    @property
    def complete(self) -> bool:
        return not self.error and not (self.skipped and self.packages_audited == 0)


def _load(raw: bytes | str) -> Any:
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_BYTES:
        raise AuditFormatError(f"report larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AuditFormatError(f"not valid JSON: {exc}") from None


def _text(value: Any, where: str, *, limit: int = 300, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool) or (required and str(value).strip() == ""):
        raise AuditFormatError(f"{where}: expected a non-empty string")
    return str(value)[:limit]


def detect(data: Any) -> str:
    """Which tool wrote ``data``: "pip-audit" or "npm-audit" (AuditFormatError when neither)."""
    if isinstance(data, dict) and "dependencies" in data and isinstance(data.get("dependencies"), list):
        return "pip-audit"
    if isinstance(data, dict) and ("auditReportVersion" in data or "vulnerabilities" in data):
        return "npm-audit"
    if isinstance(data, dict) and "statusCode" in data and "message" in data:
        return "npm-audit"  # npm's own error report (advisory endpoint unreachable)
    if isinstance(data, dict) and isinstance(data.get("advisories"), dict):
        raise AuditFormatError("npm audit report version 1 (npm 6) is not supported; run npm 7 or later")
    raise AuditFormatError(
        "not a pip-audit or npm audit report: expected 'dependencies' (pip-audit --format json) "
        "or 'auditReportVersion'/'vulnerabilities' (npm audit --json)"
    )


def parse(raw: bytes | str, tool: str | None = None) -> ParsedAudit:
    """Read a report; ``tool`` ("pip-audit", "npm-audit") is detected when not given."""
    data = _load(raw)
    kind = tool or detect(data)
    if kind == "pip-audit":
        return parse_pip_audit(data)
    if kind == "npm-audit":
        return parse_npm_audit(data)
    raise AuditFormatError(f"tool: expected 'pip-audit' or 'npm-audit', not {tool!r}")


_UNREACHABLE = re.compile(r"not found on PyPI|could not be audited|connection|timed out", re.IGNORECASE)


def parse_pip_audit(data: Any) -> ParsedAudit:
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        raise AuditFormatError("dependencies: expected a list (pip-audit --format json)")
    out = ParsedAudit(tool="pip-audit")
    for i, dep in enumerate(data["dependencies"]):
        where = f"dependencies[{i}]"
        if not isinstance(dep, dict):
            raise AuditFormatError(f"{where}: expected an object")
        name = _text(dep.get("name"), f"{where}.name", limit=200)
        if "skip_reason" in dep:
            out.skipped.append(f"{name}: {_text(dep.get('skip_reason'), f'{where}.skip_reason', limit=300)}")
            continue
        version = _text(dep.get("version"), f"{where}.version", limit=100)
        vulns = dep.get("vulns", [])
        if not isinstance(vulns, list):
            raise AuditFormatError(f"{where}.vulns: expected a list")
        out.packages_audited += 1
        for j, vuln in enumerate(vulns):
            vwhere = f"{where}.vulns[{j}]"
            if not isinstance(vuln, dict):
                raise AuditFormatError(f"{vwhere}: expected an object")
            fixes = vuln.get("fix_versions", [])
            aliases = vuln.get("aliases", [])
            if not isinstance(fixes, list) or not isinstance(aliases, list):
                raise AuditFormatError(f"{vwhere}: fix_versions and aliases must be lists")
            out.findings.append(
                ParsedFinding(
                    package=name,
                    version=version,
                    advisory_id=_text(vuln.get("id"), f"{vwhere}.id", limit=100),
                    severity="unknown",
                    fixed_version=", ".join(str(f) for f in fixes)[:200],
                    aliases=tuple(str(a)[:100] for a in aliases),
                    title=_text(vuln.get("description"), f"{vwhere}.description", limit=300, required=False),
                )
            )
    if out.skipped and out.packages_audited == 0 and all(_UNREACHABLE.search(s) for s in out.skipped):
        out.error = "pip-audit could not audit any dependency (advisory service unreachable?): " + out.skipped[0]
    _check_size(out)
    return out


def _npm_fix(fix: Any, package: str) -> str:
    if fix is True:
        return "available (npm audit fix)"
    if isinstance(fix, dict):
        name, version = str(fix.get("name", ""))[:100], str(fix.get("version", ""))[:50]
        major = " (semver major)" if fix.get("isSemVerMajor") else ""
        return (version if name == package else f"{name}@{version}") + major
    return ""


def parse_npm_audit(data: Any) -> ParsedAudit:
    if not isinstance(data, dict):
        raise AuditFormatError("expected a JSON object (npm audit --json)")
    out = ParsedAudit(tool="npm-audit")
    if "vulnerabilities" not in data and "message" in data:
        # npm prints its own error object when the registry's audit endpoint fails.
        out.error = "npm audit could not reach the advisory endpoint: " + str(data.get("message"))[:250]
        return out
    if data.get("auditReportVersion") not in (2, None):
        raise AuditFormatError(f"auditReportVersion: expected 2, not {data.get('auditReportVersion')!r}")
    vulns = data.get("vulnerabilities")
    if not isinstance(vulns, dict):
        raise AuditFormatError("vulnerabilities: expected an object keyed by package name")
    seen: set[str] = set()
    for name, entry in vulns.items():
        where = f"vulnerabilities.{name}"
        if not isinstance(entry, dict):
            raise AuditFormatError(f"{where}: expected an object")
        via = entry.get("via", [])
        if not isinstance(via, list):
            raise AuditFormatError(f"{where}.via: expected a list")
        fixed = _npm_fix(entry.get("fixAvailable"), name)
        for j, item in enumerate(via):
            if isinstance(item, str):
                continue  # "via" another vulnerable package: that package has its own entry
            if not isinstance(item, dict):
                raise AuditFormatError(f"{where}.via[{j}]: expected an object or a package name")
            url = _text(item.get("url"), f"{where}.via[{j}].url", limit=300, required=False)
            ghsa = _GHSA.search(url)
            advisory = ghsa.group(0) if ghsa else _text(item.get("source"), f"{where}.via[{j}].source", limit=100)
            severity = str(item.get("severity", entry.get("severity", "unknown"))).lower()
            if severity not in SEVERITIES:
                raise AuditFormatError(f"{where}.via[{j}].severity: expected one of {', '.join(SEVERITIES)}")
            package = _text(item.get("name", name), f"{where}.via[{j}].name", limit=200)
            finding = ParsedFinding(
                package=package,
                version="",
                advisory_id=advisory,
                severity=severity,
                fixed_version=fixed,
                title=_text(item.get("title"), f"{where}.via[{j}].title", limit=300, required=False),
                url=url,
                affected_range=_text(item.get("range"), f"{where}.via[{j}].range", limit=200, required=False),
            )
            if finding.key not in seen:
                seen.add(finding.key)
                out.findings.append(finding)
    deps = (data.get("metadata") or {}).get("dependencies") if isinstance(data.get("metadata"), dict) else None
    out.packages_audited = int(deps.get("total", 0)) if isinstance(deps, dict) else len(vulns)
    _check_size(out)
    return out


def _check_size(out: ParsedAudit) -> None:
    if len(out.findings) > MAX_FINDINGS:
        raise AuditFormatError(f"more than {MAX_FINDINGS} findings in one report")
