"""The load scripts/loadtest puts on the production stack: WG members and site contacts
browsing the pages, API clients reading, and probes on worker nodes reporting capabilities,
each with a think time, the way they meet the dashboard on a meeting day.

Every request goes as the TLS proxy passes it on (Host and X-Forwarded-Proto). Each write
the dashboard accepts is appended to LOAD_WRITES (site, version), for scripts/loadtest to
find in the history afterwards. Site names and probe tokens come from LOAD_TOKENS."""

import itertools
import json
import os
import random

from locust import HttpUser, between, task

with open(os.environ["LOAD_TOKENS"]) as tokens_file:
    PREPARED = json.load(tokens_file)
SITES = PREPARED["sites"]  # names of every site
TOKENS = PREPARED["tokens"]  # site name → a probe's token
PAGES = max(1, len(SITES) // 50)  # full pages of the sites table and the API's list (50 each)
EXPERIMENTS = ("alice", "atlas", "cms", "lhcb")
PROXIED = {"Host": os.environ.get("LOAD_HOST", "wlcgstatus.example.org"),
           "X-Forwarded-Proto": "https"}
versions = itertools.count(1)  # each write sends a version no other write sends
written = open(os.environ["LOAD_WRITES"], "a")  # noqa: SIM115 (for the whole run)


class Proxied(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.client.headers.update(PROXIED)

    def any_site(self) -> str:
        return random.choice(SITES)


class Reader(Proxied):
    """A WG member or site contact in a browser."""

    weight = 6
    wait_time = between(1, 3)

    @task(3)
    def overview(self):
        self.client.get("/", name="overview")

    @task(3)
    def sites_table(self):
        # People page a little and then filter; scripts page through everything (below).
        self.client.get(f"/sites/?page={random.randint(1, min(PAGES, 10))}", name="sites table")

    @task(2)
    def sites_filtered(self):
        self.client.get(f"/sites/?experiment={random.choice(EXPERIMENTS)}&compliance=interim",
                        name="sites table, filtered")

    @task(4)
    def site_page(self):
        self.client.get(f"/sites/{self.any_site()}/", name="site page")

    @task(2)
    def experiment_page(self):
        self.client.get(f"/experiments/{random.choice(EXPERIMENTS)}/", name="experiment page")

    @task(1)
    def changes(self):
        self.client.get("/changes/", name="changes")

    @task(1)
    def scenarios(self):
        self.client.get("/scenarios/", name="scenarios")


class ApiClient(Proxied):
    """A script reading the JSON API (a monitoring dashboard, a notebook)."""

    weight = 3
    wait_time = between(1, 3)

    @task(3)
    def sites(self):
        self.client.get(f"/api/sites/?page={random.randint(1, PAGES)}", name="api: sites")

    @task(2)
    def site(self):
        self.client.get(f"/api/sites/{self.any_site()}/", name="api: a site")

    @task(1)
    def summary(self):
        self.client.get("/api/summary/", name="api: summary")


class Probe(Proxied):
    """The capability probe on a worker node, reporting with its site's token."""

    weight = 1
    wait_time = between(2, 5)

    @task
    def report(self):
        name = random.choice(list(TOKENS))
        version = f"1.4.{next(versions)}"
        with self.client.post(
                f"/api/sites/{name}/capabilities/", name="api: probe report",
                json={"values": {"container_runtime": "apptainer",
                                 "container_runtime_version": version}},
                headers={"Authorization": f"Token {TOKENS[name]}"},
                catch_response=True) as response:
            if response.status_code == 200:
                written.write(f"{name} {version}\n")
                written.flush()
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
