"""The clinic's workflow proofreads too (初校, 复校, 终校), with its checklists; and the standard's error categories."""

from django.db import migrations

from review.defaults import CLINIC_STAGES, CLINIC_WORKFLOW, add_default_checklist, create_error_categories


def forwards(apps, schema_editor):
    Stage, ChecklistItem = apps.get_model("review", "Stage"), apps.get_model("review", "ChecklistItem")
    proofread_names = {name: proofread_name for _position, name, proofread_name, _role, _major in CLINIC_STAGES}
    for stage in Stage.objects.filter(workflow__name=CLINIC_WORKFLOW, name__in=proofread_names):
        if not stage.proofread_name:
            stage.proofread_name = proofread_names[stage.name]
            stage.save(update_fields=["proofread_name"])
        if not ChecklistItem.objects.filter(stage=stage).exists():
            add_default_checklist(stage, ChecklistItem)
    ErrorCategory = apps.get_model("review", "ErrorCategory")
    if not ErrorCategory.objects.exists():
        create_error_categories(ErrorCategory)


class Migration(migrations.Migration):
    dependencies = [("review", "0003_proofreading")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
