# HTTP and LLM resources: their http settings; database and upstream user may be blank.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0002_credential_modes"),
    ]

    operations = [
        migrations.AddField(
            model_name="resource",
            name="http_settings",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="resource",
            name="database",
            field=models.CharField(blank=True, max_length=63),
        ),
        migrations.AlterField(
            model_name="resource",
            name="upstream_user",
            field=models.CharField(blank=True, max_length=63),
        ),
    ]
