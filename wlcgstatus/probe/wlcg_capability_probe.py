#!/usr/bin/env python3
"""wlcgstatus capability probe: run it on a worker node to find out what the WLCG
Traceability and Isolation WG asks of a site, and optionally report it.

    python3 wlcg_capability_probe.py                      # print what it finds
    python3 wlcg_capability_probe.py --url https://wlcgstatus.example/ --site MY-SITE
        (with the site's API token in the WLCGSTATUS_TOKEN environment variable, or --token)
    python3 wlcg_capability_probe.py --check --url https://wlcgstatus.example/ --site MY-SITE \
        --vo cms                                          # a Nagios-style check, for SAM/ETF

As a check it prints one status line and exits 0 (OK: what it finds is what the site
reported), 1 (WARNING: they differ, or the site's report is stale), 2 (CRITICAL: the site is
non-compliant for the VO, or, with a token, the report could not be posted) or 3 (UNKNOWN:
wlcgstatus could not be reached or does not know the site or VO). With a token it also posts
what it found, and judges the site on wlcgstatus's answer.

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


OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3  # the Nagios plugin exit codes
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


def fetch_site(url, site):
    """The site as wlcgstatus's API shows it (what it reported, its assessments)."""
    endpoint = "{}/api/sites/{}/".format(url.rstrip("/"), urllib.request.quote(site))
    request = urllib.request.Request(endpoint, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode())


def differences(found, reported):
    """The capabilities whose value here differs from the site's report, as "key: reported
    → found" (an empty value is reported as nothing at all)."""
    return ["{}: {} → {}".format(key, reported.get(key) or "-", value or "-")
            for key, value in sorted(found.items()) if (reported.get(key) or "") != value]


def check(url, site, vo, token, values):
    """(exit code, status line) of the monitoring check; the line ends with its performance
    data: how many capabilities differ from the site's report, of how many checked."""
    try:
        shown = fetch_site(url, site)
    except urllib.error.HTTPError as error:
        return UNKNOWN, f"wlcgstatus does not know site {site} ({error.code})"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return UNKNOWN, f"wlcgstatus cannot be reached at {url}: {reason(error)}"
    reported = {value["capability"]: value["value"] for value in shown.get("capabilities", [])}
    differ = differences(values, reported)
    assessments = shown.get("assessments", [])
    if token:  # post what was found: the site's report is then what this node has
        performance = f" | differences={len(differ)};1;;0;{len(values)}"
        try:
            assessments = report(url, site, token, values).get("assessments", [])
        except urllib.error.HTTPError as error:
            return CRITICAL, f"wlcgstatus refused the report ({error.code}){performance}"
        except (urllib.error.URLError, OSError, ValueError) as error:
            return CRITICAL, f"the report could not be posted: {reason(error)}{performance}"
        posted, differ = len(differ), []
    else:
        posted = 0
    performance = f" | differences={len(differ)};1;;0;{len(values)}"
    assessment = next((a for a in assessments if a.get("experiment") == vo), None)
    if assessment is None:
        return UNKNOWN, f"{site} does not serve {vo} in wlcgstatus"
    scenario = "{}: {} ({})".format(vo, assessment.get("scenario") or "unknown",
                                    assessment.get("compliance"))
    if assessment.get("compliance") == "non_compliant":
        return CRITICAL, f"{site} is non-compliant, {scenario}{performance}"
    if differ:
        return WARNING, f"{site} reported otherwise: {'; '.join(differ)}{performance}"
    if assessment.get("stale") and not token:
        return WARNING, f"{site}'s report is stale, not confirmed for too long; {scenario}" \
                        f"{performance}"
    posting = f"reported {posted} change(s); " if posted else ""
    return OK, f"{posting}{site} matches its report; {scenario}{performance}"


def reason(error):
    return getattr(error, "reason", None) or error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="wlcgstatus's address, to report what was found")
    parser.add_argument("--site", help="the site's WLCG name, to report what was found")
    parser.add_argument("--token", default=os.environ.get("WLCGSTATUS_TOKEN"),
                        help="the site's API token (default: $WLCGSTATUS_TOKEN)")
    parser.add_argument("--check-host", default="cern.ch:443",
                        help="where to test outbound connections (default cern.ch:443)")
    parser.add_argument("--check", action="store_true",
                        help="run as a monitoring check (Nagios conventions, for SAM/ETF): "
                             "needs --url, --site and --vo")
    parser.add_argument("--vo", help="the VO whose assessment the check judges, e.g. cms")
    args = parser.parse_args(argv)
    host, _, port = args.check_host.partition(":")
    if args.check and not (args.url and args.site and args.vo):
        print("UNKNOWN - a check needs --url, --site and --vo")
        return UNKNOWN

    values = probe(host=host, port=int(port or 443))
    if args.check:
        status, line = check(args.url, args.site, args.vo.lower(), args.token, values)
        print(f"{STATES[status]} - {line}")
        return status
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
