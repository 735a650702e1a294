"""Site contacts say how they were granted: the plain many-to-many's table becomes the table
of a model of its own (no change to the database), which then gains the `granted` column."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sites", "0013_federation_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SiteContact",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("site", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                   to="sites.site")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                   to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "sites_site_contacts",
                             "unique_together": {("site", "user")}},
                ),
                migrations.AlterField(
                    model_name="site",
                    name="contacts",
                    field=models.ManyToManyField(
                        blank=True, help_text="The people who report this site's capabilities.",
                        related_name="contact_for_sites", through="sites.SiteContact",
                        to=settings.AUTH_USER_MODEL),
                ),
            ],
        ),
        migrations.AddField(
            model_name="sitecontact",
            name="granted",
            field=models.CharField(choices=[("hand", "by hand"), ("sign-on", "by single sign-on")],
                                   default="hand", max_length=10),
        ),
    ]
