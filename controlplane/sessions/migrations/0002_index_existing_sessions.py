# Index the sessions of audit events stored before the session index existed.

from django.db import migrations

from controlplane.sessions.projection import session_records_rebuild


def index_existing_sessions(apps, schema_editor):
    session_records_rebuild(
        record_model=apps.get_model("gatehouse_sessions", "SessionRecord"),
        event_model=apps.get_model("audit", "AuditEvent"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("gatehouse_sessions", "0001_session_index"),
        ("audit", "0006_append_only_triggers"),
    ]

    operations = [migrations.RunPython(index_existing_sessions, migrations.RunPython.noop)]
