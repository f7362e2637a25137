"""Load the runbook's "Metrics to Track" table into the metric catalog, word for word.

| Metric                  | Target | Alert If |
| API Response Time (p95) | <500ms | >2s      |
| Error Rate              | <0.1%  | >1%      |
| Uptime                  | 99.9%  | <99%     |
| Database Connections    | <50    | >80      |
| Memory Usage            | <60%   | >80%     |
| Disk Space              | <70%   | >90%     |
| Backup Age              | <24h   | >48h     |

Targets and thresholds are stored as numbers; the console writes them back in the runbook's
notation (Metric.target_label / alert_label), which a test checks against this table.
"""

from django.db import migrations

RUNBOOK_METRICS = [
    {
        "key": "api_response_time_p95",
        "name": "API Response Time (p95)",
        "description": "95th percentile response time of the probed services over the last 15 minutes.",
        "unit": "ms",
        "direction": "above",
        "target": 500,
        "alert_threshold": 2000,
        "for_seconds": 300,
        "scope": "service",
        "source": "probes",
        "source_name": "p95",
        "window_minutes": 15,
        "severity": "warning",
        "runbook": "Scale Service",
    },
    {
        "key": "error_rate",
        "name": "Error Rate",
        "description": "Share of failed checks over the last 15 minutes (or as pushed by the application).",
        "unit": "percent",
        "direction": "above",
        "target": 0.1,
        "alert_threshold": 1,
        "for_seconds": 300,
        "scope": "service",
        "source": "probes",
        "source_name": "error_rate",
        "window_minutes": 15,
        "severity": "critical",
        "runbook": "High Error Rate",
    },
    {
        "key": "uptime",
        "name": "Uptime",
        "description": "Share of successful checks over the last 30 days.",
        "unit": "percent",
        "direction": "below",
        "target": 99.9,
        "alert_threshold": 99,
        "for_seconds": 0,
        "scope": "service",
        "source": "probes",
        "source_name": "uptime",
        "window_minutes": 30 * 24 * 60,
        "severity": "critical",
        "runbook": "Service Is Down",
    },
    {
        "key": "database_connections",
        "name": "Database Connections",
        "description": "Open PostgreSQL connections (pg_stat_activity), shown against max_connections.",
        "unit": "count",
        "direction": "above",
        "target": 50,
        "alert_threshold": 80,
        "for_seconds": 300,
        "scope": "system",
        "source": "collector",
        "source_name": "pg_connections",
        "severity": "warning",
        "runbook": "Database Connection Issues",
    },
    {
        "key": "memory_usage",
        "name": "Memory Usage",
        "description": "Memory in use on each worker host.",
        "unit": "percent",
        "direction": "above",
        "target": 60,
        "alert_threshold": 80,
        "for_seconds": 300,
        "scope": "system",
        "source": "collector",
        "source_name": "memory",
        "severity": "warning",
        "runbook": "High Memory Usage",
    },
    {
        "key": "disk_space",
        "name": "Disk Space",
        "description": "Disk used on each configured path (DISK_PATHS) of each worker host.",
        "unit": "percent",
        "direction": "above",
        "target": 70,
        "alert_threshold": 90,
        "for_seconds": 300,
        "scope": "system",
        "source": "collector",
        "source_name": "disk",
        "severity": "critical",
        "runbook": "",
    },
    {
        "key": "backup_age",
        "name": "Backup Age",
        "description": "Hours since the last successful backup of each backup policy.",
        "unit": "hours",
        "direction": "above",
        "target": 24,
        "alert_threshold": 48,
        "for_seconds": 0,
        "scope": "system",
        "source": "provider",
        "source_name": "backup_age_hours",
        "stale_after_seconds": 3600,
        "severity": "critical",
        "runbook": "",
    },
]


def load(apps, schema_editor):
    Metric = apps.get_model("monitoring", "Metric")
    for position, row in enumerate(RUNBOOK_METRICS, start=1):
        Metric.objects.update_or_create(key=row["key"], defaults={**row, "position": position})


def unload(apps, schema_editor):
    Metric = apps.get_model("monitoring", "Metric")
    Metric.objects.filter(key__in=[r["key"] for r in RUNBOOK_METRICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_metrics_alerts_notifications")]

    operations = [migrations.RunPython(load, unload)]
