"""The OpenTelemetry Collector config in the repo (filelog -> otlphttp) points at the portal's /v1/logs
with a bearer token, and its line pattern reads the level of the log lines it tails."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.conf import settings

CONFIG = Path(settings.BASE_DIR) / "otel" / "collector-filelog.yaml"


def test_the_pipeline_tails_logs_and_exports_to_the_portal() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["receivers"]["filelog"]["include"] == ["logs/*.log"]
    exporter = config["exporters"]["otlphttp"]
    assert exporter["endpoint"] == "${env:OPS_PORTAL_URL}"  # the exporter appends /v1/logs
    assert exporter["headers"]["Authorization"] == "Bearer ${env:OPS_PORTAL_TOKEN}"
    assert config["service"]["pipelines"]["logs"] == {
        "receivers": ["filelog"],
        "processors": ["resource", "batch"],
        "exporters": ["otlphttp"],
    }
    assert config["processors"]["resource"]["attributes"][0]["key"] == "service.name"


def test_the_line_pattern_reads_python_log_lines_and_lets_others_through() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    parser = config["receivers"]["filelog"]["operators"][0]
    pattern = re.compile(parser["regex"])
    match = pattern.match("2026-12-01 20:41:41,501 ERROR agents.content: model router fallback chain exhausted")
    assert match and match["level"] == "ERROR" and match["time"] == "2026-12-01 20:41:41"
    assert pattern.match("plain text without a level") is None and parser["on_error"] == "send_quiet"
