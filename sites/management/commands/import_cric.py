from sites.importers.command import ImportCommand


class Command(ImportCommand):
    help = ("Update the sites from WLCG CRIC's resource-centre JSON (/api/core/rcsite/query/"
            "?json), a file or a URL: tiers, countries, federations, the experiments' own "
            "names and CRIC's state of each centre. Sites gone from CRIC are listed, not "
            "deleted.")
    source = "CRIC"
    what = "CRIC's JSON"
