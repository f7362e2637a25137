"""The metric catalog is the runbook's "Metrics to Track" table, word for word, with sound thresholds."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from monitoring.metrics.models import format_value
from monitoring.models import Metric

pytestmark = pytest.mark.django_db

# Copied from the runbook (06 - Operations & Maintenance, "Metrics to Track").
RUNBOOK_TABLE = """
| Metric                  | Target | Alert If |
| ----------------------- | ------ | -------- |
| API Response Time (p95) | <500ms | >2s      |
| Error Rate              | <0.1%  | >1%      |
| Uptime                  | 99.9%  | <99%     |
| Database Connections    | <50    | >80      |
| Memory Usage            | <60%   | >80%     |
| Disk Space              | <70%   | >90%     |
| Backup Age              | <24h   | >48h     |
"""


def runbook_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in RUNBOOK_TABLE.strip().splitlines()[2:]:
        name, target, alert = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((name, target, alert))
    return rows


def test_catalog_matches_the_runbook_word_for_word() -> None:
    table = Metric.objects.exclude(source_name="agents").order_by("position")  # agents: tests/agents
    catalog = [(m.name, m.target_label, m.alert_label) for m in table]
    assert catalog == runbook_rows()


def test_each_metric_has_unit_direction_scope_source_and_runbook_link() -> None:
    by_key = {m.key: m for m in Metric.objects.all()}
    assert by_key["uptime"].direction == "below" and by_key["uptime"].breaches(98.9)
    assert not by_key["uptime"].breaches(99.0)
    assert by_key["error_rate"].runbook == "High Error Rate"
    assert by_key["memory_usage"].runbook == "High Memory Usage"
    assert by_key["database_connections"].runbook == "Database Connection Issues"
    assert by_key["backup_age"].source == "provider" and by_key["backup_age"].source_name == "backup_age_hours"
    assert {m.scope for m in by_key.values()} == {"system", "service"}
    for metric in by_key.values():
        metric.full_clean()


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (500, "ms", "500ms"),
        (2000, "ms", "2s"),
        (1500, "ms", "1.5s"),
        (0.1, "percent", "0.1%"),
        (48, "hours", "48h"),
        (80, "count", "80"),
    ],
)
def test_runbook_notation(value: float, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


def test_grades_ok_missing_target_alerting_and_no_data() -> None:
    p95 = Metric.objects.get(key="api_response_time_p95")
    assert p95.grade(120.0) == "ok"
    assert p95.grade(900.0) == "missing"
    assert p95.grade(2500.0) == "alerting"
    assert p95.grade(None) == "nodata"
    assert p95.grade(900.0, state="firing") == "alerting"


def test_inconsistent_thresholds_are_refused_with_a_clear_message() -> None:
    p95 = Metric.objects.get(key="api_response_time_p95")
    p95.target, p95.alert_threshold = 3000, 2000
    with pytest.raises(ValidationError) as exc:
        p95.full_clean()
    assert "target" in exc.value.message_dict
    uptime = Metric.objects.get(key="uptime")
    uptime.clear_threshold = 98.0  # lower is worse: clearing below the alert threshold makes no sense
    with pytest.raises(ValidationError) as exc:
        uptime.full_clean()
    assert "clear_threshold" in exc.value.message_dict
