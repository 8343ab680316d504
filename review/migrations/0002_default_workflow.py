"""Create the clinic's rule (三审三校) as the default workflow; administrators can change it in the admin.

(0004 adds its proofreading names and checklists.)
"""

from django.db import migrations

STAGES = [
    (1, "初审", "information_officer", False),
    (2, "复审", "department_head", False),
    (3, "终审", "publicity_leader", False),
    (4, "审定", "principal_leader", True),
]


def create_default_workflow(apps, schema_editor):
    Workflow, Stage = apps.get_model("review", "Workflow"), apps.get_model("review", "Stage")
    if not Workflow.objects.exists():
        workflow = Workflow.objects.create(name="三审三校")
        Stage.objects.bulk_create(
            Stage(workflow=workflow, position=position, name=name, role=role, major_only=major_only)
            for position, name, role, major_only in STAGES
        )


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]

    operations = [migrations.RunPython(create_default_workflow, migrations.RunPython.noop)]
