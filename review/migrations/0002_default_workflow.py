"""Create the clinic's rule (三审三校) as the default workflow; administrators can change it in the admin."""

from django.db import migrations

from review.defaults import create_clinic_workflow


def create_default_workflow(apps, schema_editor):
    Workflow = apps.get_model("review", "Workflow")
    if not Workflow.objects.exists():
        create_clinic_workflow(Workflow, apps.get_model("review", "Stage"))


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]

    operations = [migrations.RunPython(create_default_workflow, migrations.RunPython.noop)]
