from sites.importers.command import ImportCommand


class Command(ImportCommand):
    help = ("Update the sites from GOCDB's public site list (get_site_list or get_site, every "
            "page of it), a file or a URL: adds the sites CRIC does not cover and gives the "
            "countries of those CRIC does not list. Closed sites are left out; GOCDB gives no "
            "tiers, federations or experiment names.")
    source = "GOCDB"
    what = "GOCDB's XML"
