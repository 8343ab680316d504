from django.db import migrations, models

from review.proofreading import character_count


def count_characters(apps, schema_editor):
    """Count the characters of every revision written before the count was kept."""
    Revision = apps.get_model("review", "Revision")
    revisions = Revision.objects.filter(characters=0).only("pk", "title", "body")
    batch = []
    for revision in revisions.iterator(chunk_size=1000):
        revision.characters = character_count(revision.title, revision.body)
        batch.append(revision)
        if len(batch) == 1000:
            Revision.objects.bulk_update(batch, ["characters"])
            batch = []
    Revision.objects.bulk_update(batch, ["characters"])


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0013_on_behalf_of"),
    ]

    operations = [
        migrations.AddField(
            model_name="revision",
            name="characters",
            field=models.PositiveIntegerField(default=0, verbose_name="characters"),
        ),
        migrations.RunPython(count_characters, migrations.RunPython.noop),
    ]
