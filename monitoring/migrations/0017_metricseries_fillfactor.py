"""Leave half of each metric series page free on PostgreSQL, so the minute's rewrite of every series
row (last value, evaluated_at) is a HOT update: the new row version goes in the same page and none of
the table's three indexes is touched. With full pages (the default fillfactor 100) 9 of 10 of those
updates went to another page and added an entry to every index: most of the evaluation's PostgreSQL
CPU (bench/ticks.py). New pages follow the setting; pages already full free up at their next vacuum."""

from django.db import migrations


def set_fillfactor(apps, schema_editor, value: int = 50) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("monitoring", "MetricSeries")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("monitoring", "MetricSeries")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0016_dispatcher_loop"),
    ]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
