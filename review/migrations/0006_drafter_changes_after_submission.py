"""The drafter may now change a piece in review or approved (the change restarts its review): grant them
`change_document` on those pieces, as review.permissions.expected_grants() now says."""

from django.db import migrations

STATES = ["in_review", "approved"]


def grant(apps, schema_editor):
    Document = apps.get_model("review", "Document")
    Permission = apps.get_model("auth", "Permission")
    Grant = apps.get_model("review", "DocumentUserObjectPermission")
    permission = Permission.objects.filter(content_type__app_label="review", codename="change_document").first()
    if permission is None:  # a new database: the permissions are created after the migrations
        return
    Grant.objects.bulk_create(
        [
            Grant(content_object_id=pk, user_id=drafter, permission=permission)
            for pk, drafter in Document.objects.filter(state__in=STATES).values_list("pk", "drafter_id")
        ],
        ignore_conflicts=True,
    )


def revoke(apps, schema_editor):
    Grant = apps.get_model("review", "DocumentUserObjectPermission")
    Grant.objects.filter(content_object__state__in=STATES, permission__codename="change_document").delete()


class Migration(migrations.Migration):
    dependencies = [("review", "0005_prechecks"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
