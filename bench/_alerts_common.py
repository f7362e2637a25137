"""Shared set-up of the metrics and alerts benchmarks: a dedicated PostgreSQL database, Django, CPU clocks.

The benchmarks use their own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/bench_opsportal_alr), created and migrated on first use.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_opsportal_alr"


def bench_env() -> dict[str, str]:
    """Environment for this process and for servers it starts."""
    data = Path(tempfile.gettempdir()) / "opsportal-bench-alr"
    (data / "staticfiles").mkdir(parents=True, exist_ok=True)
    return {
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        "DEBUG": "false",
        "HTTPS": "false",
        "STATIC_MANIFEST": "false",
        "SECRET_KEY": "bench-only-not-a-secret",
        "CACHE_URL": "locmemcache://bench",
        "DATA_DIR": str(data),
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_CONN_MAX_AGE": "600",
    }


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    """Point Django at the bench database, migrate it, and clear the tables the benchmarks fill."""
    env = bench_env()
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsportal.settings"
    sys.path.insert(0, str(ROOT))
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE monitoring_notificationattempt, monitoring_notification, monitoring_alertevent, "
            "monitoring_alert, monitoring_metricsample, monitoring_metricseries, monitoring_notificationchannel "
            "RESTART IDENTITY CASCADE"
        )


def backend_cpu_seconds() -> float:
    """CPU seconds used so far by this process's PostgreSQL backend (same machine: read from /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
