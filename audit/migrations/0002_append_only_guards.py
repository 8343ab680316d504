"""The database refuses to change history: triggers make the event and checkpoint tables append-only.

A later migration that rebuilds either table (SQLite does, to alter one) must run audit.guards.install again;
the system check audit.E001 fails until it does.
"""

from django.db import migrations

from audit import guards


def install(apps, schema_editor):
    guards.install(schema_editor.connection)


def remove(apps, schema_editor):
    guards.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
