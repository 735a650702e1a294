#!/usr/bin/env python3
"""wlcgstatus capability probe: run it on a worker node to find out what the WLCG
Traceability and Isolation WG asks of a site, and optionally report it.

    python3 wlcg_capability_probe.py                      # print what it finds
    python3 wlcg_capability_probe.py --url https://wlcgstatus.example/ --site MY-SITE
        (with the site's API token in the WLCGSTATUS_TOKEN environment variable, or --token)

It detects Singularity or Apptainer and its version (on the PATH or from CVMFS), whether
unprivileged user namespaces are enabled, whether CVMFS is mounted, and whether jobs can open
outbound connections. Standard library only; Python 3.6 or newer, as worker nodes have it.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request

CVMFS_APPTAINER = "/cvmfs/oasis.opensciencegrid.org/mis/apptainer/bin/apptainer"
CVMFS_REPOSITORY = "/cvmfs/cvmfs-config.cern.ch"
VERSION = re.compile(r"(singularity-ce|singularity|apptainer)\s+version\s+v?([0-9][0-9.]*)",
                     re.IGNORECASE)


def run(command):
    """The command's output, or None if it cannot be run or fails."""
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=30)  # noqa: UP021 (3.6)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def detect_runtime(run=run):
    """("apptainer" | "singularity" | "none", version or None). Apptainer is preferred; a
    `singularity` command that is Apptainer underneath counts as Apptainer."""
    for command in (["apptainer", "--version"], [CVMFS_APPTAINER, "--version"],
                    ["singularity", "--version"]):
        match = VERSION.search(run(command) or "")
        if match:
            name = "apptainer" if match.group(1).lower() == "apptainer" else "singularity"
            return name, match.group(2).rstrip(".")
    return "none", None


def detect_userns(read=read, run=run):
    """Whether unprivileged user namespaces are enabled."""
    if (read("/proc/sys/user/max_user_namespaces") or "0") == "0":
        return False
    # Debian and Ubuntu kernels have their own switch, off by default on older ones.
    if read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return False
    return run(["unshare", "--user", "--map-root-user", "true"]) is not None


def detect_cvmfs(listdir=os.listdir):
    """Whether CVMFS is mounted: listing a repository mounts it through autofs."""
    try:
        return bool(listdir(CVMFS_REPOSITORY))
    except OSError:
        return False


def detect_outbound(host="cern.ch", port=443, connect=socket.create_connection):
    try:
        connect((host, port), timeout=5).close()
    except OSError:
        return False
    return True


def probe(run=run, read=read, listdir=os.listdir, connect=socket.create_connection,
          host="cern.ch", port=443):
    """What the site provides, as capability key -> value, in wlcgstatus's vocabulary."""
    runtime, version = detect_runtime(run)
    found = {
        "container_runtime": runtime,
        "unprivileged_userns": "yes" if detect_userns(read, run) else "no",
        "cvmfs": "yes" if detect_cvmfs(listdir) else "no",
        "outbound_network": "yes" if detect_outbound(host, port, connect) else "no",
    }
    found["container_runtime_version"] = version or ""  # "" withdraws an old version
    return found


def report(url, site, token, values):
    """POST the values to the site's capabilities in wlcgstatus's API; returns its answer."""
    endpoint = "{}/api/sites/{}/capabilities/".format(url.rstrip("/"),
                                                      urllib.request.quote(site))
    body = json.dumps({"values": values, "reporter": "probe"}).encode()
    request = urllib.request.Request(endpoint, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json",
        "Authorization": "Token " + token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="wlcgstatus's address, to report what was found")
    parser.add_argument("--site", help="the site's WLCG name, to report what was found")
    parser.add_argument("--token", default=os.environ.get("WLCGSTATUS_TOKEN"),
                        help="the site's API token (default: $WLCGSTATUS_TOKEN)")
    parser.add_argument("--check-host", default="cern.ch:443",
                        help="where to test outbound connections (default cern.ch:443)")
    args = parser.parse_args(argv)
    host, _, port = args.check_host.partition(":")

    values = probe(host=host, port=int(port or 443))
    for key in sorted(values):
        print("{:28} {}".format(key, values[key] or "-"))
    if not args.url:
        return 0
    if not (args.site and args.token):
        parser.error("to report, give --site and a token (--token or $WLCGSTATUS_TOKEN)")
    try:
        answer = report(args.url, args.site, args.token, values)
    except urllib.error.HTTPError as error:
        print("wlcgstatus refused the report ({}): {}".format(
            error.code, error.read().decode(errors="replace")), file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"could not reach wlcgstatus: {error.reason}", file=sys.stderr)
        return 1
    print(f"Reported to {args.url} for {args.site}.")
    for assessment in answer.get("assessments", []):
        print("  {}: {} ({})".format(assessment.get("experiment"), assessment.get("scenario"),
                                     assessment.get("compliance")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
