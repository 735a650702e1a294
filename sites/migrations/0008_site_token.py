# SiteToken moved here from the wlcgstatus app, whose migration 0003 renamed its table: only
# the migration state changes.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sites', '0007_assessment_by_scenario_index'),
        ('wlcgstatus', '0003_move_site_token_to_sites'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SiteToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text='What uses it, e.g. “capability probe on ce01”.', max_length=100)),
                        ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(help_text="Reports made with the token are recorded as this person's.", on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('site', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to='sites.site')),
                    ],
                    options={
                        'verbose_name': 'site API token',
                        'ordering': ['site', '-created_at', '-id'],
                    },
                ),
            ],
        ),
    ]
