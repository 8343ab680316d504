"""A department's head now sees its pieces in review at every stage (to reassign a stage): grant them, as
review.permissions.expected_grants() now says."""

from django.db import migrations


def grant(apps, schema_editor):
    Document = apps.get_model("review", "Document")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Grant = apps.get_model("review", "DocumentGroupObjectPermission")
    permission = Permission.objects.filter(content_type__app_label="review", codename="view_document").first()
    if permission is None:  # a new database: the permissions are created after the migrations
        return
    rows = []
    for pk, department in Document.objects.filter(state="in_review").values_list("pk", "department_id"):
        group, _created = Group.objects.get_or_create(name=f"role:department_head:{department}")
        rows.append(Grant(content_object_id=pk, group=group, permission=permission))
    Grant.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("review", "0009_claims"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
