"""Heartbeat (push) checks: schedule fields and ping key on services, and the pings table.

The ping key is unique: added nullable, filled with one fresh UUID per existing service, then
made unique and required (a callable default in AddField would give every row the same value).
"""

import uuid

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def fill_ping_keys(apps, schema_editor):
    Service = apps.get_model("monitoring", "Service")
    for pk in Service.objects.filter(ping_key__isnull=True).values_list("pk", flat=True):
        Service.objects.filter(pk=pk).update(ping_key=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0006_alertevent_held")]

    operations = [
        migrations.AddField(model_name="service", name="ping_key", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill_ping_keys, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="service",
            name="ping_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="service",
            name="check_type",
            field=models.CharField(
                choices=[
                    ("http", "HTTP(S)"),
                    ("tcp", "TCP connect"),
                    ("postgres", "PostgreSQL (SELECT 1)"),
                    ("heartbeat", "Heartbeat (the job pings the portal)"),
                ],
                default="http",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="heartbeat_schedule",
            field=models.CharField(
                choices=[("period", "Every period"), ("cron", "Cron expression")], default="period", max_length=10
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="heartbeat_period_seconds",
            field=models.PositiveIntegerField(
                default=86400,
                help_text="Heartbeat checks: a ping is expected this often (86400 = daily).",
                validators=[
                    django.core.validators.MinValueValidator(60),
                    django.core.validators.MaxValueValidator(7776000),
                ],
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="heartbeat_cron",
            field=models.CharField(
                blank=True, help_text="Heartbeat checks: cron expression of the job, e.g. 0 2 * * *", max_length=100
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="heartbeat_timezone",
            field=models.CharField(
                blank=True,
                help_text="Time zone of the cron expression (empty: the portal's TIME_ZONE).",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="heartbeat_grace_seconds",
            field=models.PositiveIntegerField(
                default=3600,
                help_text="Heartbeat checks: how late a ping may be before the check is down.",
                validators=[
                    django.core.validators.MinValueValidator(60),
                    django.core.validators.MaxValueValidator(604800),
                ],
            ),
        ),
        migrations.AddField(model_name="service", name="last_ping_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="service", name="last_start_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.CreateModel(
            name="HeartbeatPing",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "kind",
                    models.CharField(
                        choices=[("success", "Success"), ("start", "Started"), ("fail", "Failure")], max_length=8
                    ),
                ),
                ("exit_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                (
                    "duration_ms",
                    models.FloatField(blank=True, help_text="Since the start ping of this run, if any.", null=True),
                ),
                ("method", models.CharField(blank=True, max_length=8)),
                ("remote_addr", models.CharField(blank=True, max_length=45)),
                ("user_agent", models.CharField(blank=True, max_length=200)),
                ("body", models.TextField(blank=True, help_text="The first 10 KB of a POSTed body (a job's log tail).")),
                (
                    "service",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="pings", to="monitoring.service"
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["service", "-at"], name="mon_ping_service_at")],
            },
        ),
    ]
