"""The runbook's content: its "Regular Maintenance Tasks" checklists, word for word, and its runbooks.

The item texts are in maintenance/seed.py (CHECKLISTS); runbooks come from
maintenance/content/runbooks/*.md, each becoming a Runbook with version 1. Adds only what is missing.
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
    dependencies = [("maintenance", "0002_security_audits_dbcare")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
