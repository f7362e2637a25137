"""Creates the Viewer, Editor and Admin groups, and makes the audit log append-only in PostgreSQL.

Permissions are attached to the groups after every migrate (opsportal.roles), because the
permissions of models added later only exist once their migrate has run.
"""
from __future__ import annotations

from django.db import migrations

ROLES = ("Viewer", "Editor", "Admin")

GUARD_SQL = """
CREATE OR REPLACE FUNCTION opsportal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS opsportal_audit_append_only ON opsportal_auditrecord;
CREATE TRIGGER opsportal_audit_append_only BEFORE UPDATE OR DELETE ON opsportal_auditrecord
    FOR EACH ROW EXECUTE FUNCTION opsportal_audit_append_only();
"""
UNGUARD_SQL = """
DROP TRIGGER IF EXISTS opsportal_audit_append_only ON opsportal_auditrecord;
DROP FUNCTION IF EXISTS opsportal_audit_append_only();
"""


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_SQL)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("opsportal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
