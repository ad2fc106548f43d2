# Database triggers refusing UPDATE, DELETE and TRUNCATE on the audit tables
# (controlplane/audit/triggers.py says how, per database).

from django.db import migrations

from controlplane.audit import triggers


def create_triggers(apps, schema_editor):
    for statement in triggers.create_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    for statement in triggers.drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_seq_required"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
