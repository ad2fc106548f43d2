# Ephemeral upstream credentials: credential mode, access levels and the default level.

from django.db import migrations, models

import controlplane.resources.models


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="resource",
            name="credential_mode",
            field=models.CharField(
                choices=[
                    ("static", "Static (sessions log in as the upstream user)"),
                    (
                        "ephemeral",
                        "Ephemeral (a login role per session, inside its access level)",
                    ),
                ],
                default="static",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="resource",
            name="access_levels",
            field=models.JSONField(
                blank=True,
                default=list,
                validators=[controlplane.resources.models.validate_access_levels],
            ),
        ),
        migrations.AddField(
            model_name="resource",
            name="default_access_level",
            field=models.CharField(blank=True, default="", max_length=63),
        ),
    ]
