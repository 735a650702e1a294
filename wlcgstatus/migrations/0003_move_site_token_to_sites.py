# SiteToken moved to the sites app, which owns everything about a site. The table is renamed
# and kept with its rows; sites' migration 0008 takes the model over in the migration state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('wlcgstatus', '0002_site_token'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name='SiteToken', table='sites_sitetoken'),
            ],
            state_operations=[
                migrations.DeleteModel(name='SiteToken'),
            ],
        ),
    ]
