"""The database refuses UPDATE and DELETE on audit events and checkpoints (triggers on SQLite and PostgreSQL)."""

from django.db import migrations

from review.audit import install_append_only_guard, remove_append_only_guard


def forwards(apps, schema_editor):
    install_append_only_guard(schema_editor.connection)


def backwards(apps, schema_editor):
    remove_append_only_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("review", "0003_audit_checkpoint")]

    operations = [migrations.RunPython(forwards, backwards)]
