"""PostgreSQL: refuse TRUNCATE on the audit tables too (row triggers do not fire on it). Reinstalls the guard."""

from django.db import migrations

from review.audit import install_append_only_guard


def forwards(apps, schema_editor):
    install_append_only_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("review", "0008_webhooks")]

    # Backwards, 0004 takes the whole guard away; a TRUNCATE trigger left until then does no harm.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
