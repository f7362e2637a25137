"""Two more of the runbook's sections as runbooks, because alerts name them: "SSL/HTTPS" (certificate
expiry alerts) and "Backups & Recovery" (failed backup and verification alerts).

Runs the same loader as 0003 (maintenance/seed.py), which adds only what is missing.
"""

from __future__ import annotations

from django.db import migrations


def load(apps, schema_editor):
    from maintenance.seed import load as load_content

    load_content(
        apps.get_model("maintenance", "Checklist"),
        apps.get_model("maintenance", "ChecklistItem"),
        apps.get_model("maintenance", "Runbook"),
        apps.get_model("maintenance", "RunbookVersion"),
    )


class Migration(migrations.Migration):
    dependencies = [("maintenance", "0003_content")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
