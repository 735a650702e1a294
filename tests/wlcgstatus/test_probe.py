"""The capability probe's detection, with the worker node's answers faked; it must stay
runnable by the Python 3.6 of worker nodes."""

import ast
import inspect

import pytest

from wlcgstatus.probe import wlcg_capability_probe as probe

# The probe runs on a worker node, with no database at all.
pytestmark = pytest.mark.backend_independent


def answers(outputs: dict):
    """A fake `run`: each command (its first word) answers as given, others fail."""
    def run(command):
        return outputs.get(command[0])
    return run


@pytest.mark.parametrize(("outputs", "found"), [
    ({"apptainer": "apptainer version 1.3.4\n"}, ("apptainer", "1.3.4")),
    ({probe.CVMFS_APPTAINER: "apptainer version 1.2.5\n"}, ("apptainer", "1.2.5")),
    ({"singularity": "singularity-ce version 3.11.4-jammy\n"}, ("singularity", "3.11.4")),
    ({"singularity": "singularity version 3.8.7-1.el7\n"}, ("singularity", "3.8.7")),
    # A `singularity` that is Apptainer underneath (its compatibility link):
    ({"singularity": "apptainer version 1.1.9-1.el9\n"}, ("apptainer", "1.1.9")),
    ({"singularity": "garbage\n"}, ("none", None)),
    ({}, ("none", None)),
])
def test_the_runtime_and_its_version_are_read_from_the_command(outputs, found):
    assert probe.detect_runtime(answers(outputs)) == found


@pytest.mark.parametrize(("files", "unshare", "enabled"), [
    ({"/proc/sys/user/max_user_namespaces": "15000"}, "", True),
    ({"/proc/sys/user/max_user_namespaces": "0"}, "", False),
    ({}, "", False),
    ({"/proc/sys/user/max_user_namespaces": "15000",
      "/proc/sys/kernel/unprivileged_userns_clone": "0"}, "", False),
    ({"/proc/sys/user/max_user_namespaces": "15000"}, None, False),  # unshare refused
])
def test_unprivileged_user_namespaces(files, unshare, enabled):
    assert probe.detect_userns(files.get, answers({"unshare": unshare})) is enabled


def test_cvmfs_is_mounted_when_a_repository_lists():
    assert probe.detect_cvmfs(lambda path: ["etc", "bin"]) is True

    def unmounted(path):
        raise FileNotFoundError(path)
    assert probe.detect_cvmfs(unmounted) is False


def test_outbound_network_is_a_connection_that_opens():
    class Connection:
        def close(self):
            pass

    assert probe.detect_outbound(connect=lambda address, timeout: Connection()) is True

    def refused(address, timeout):
        raise ConnectionRefusedError(address)
    assert probe.detect_outbound(connect=refused) is False


def test_the_probe_answers_in_the_dashboards_vocabulary():
    def refused(address, timeout):
        raise OSError("no route")

    found = probe.probe(run=answers({"singularity": "singularity version 3.8.7\n"}),
                        read={"/proc/sys/user/max_user_namespaces": "0"}.get,
                        listdir=lambda path: ["x"], connect=refused)
    assert found == {"container_runtime": "singularity", "container_runtime_version": "3.8.7",
                     "unprivileged_userns": "no", "cvmfs": "yes", "outbound_network": "no"}


def test_without_a_runtime_the_probe_withdraws_the_version():
    found = probe.probe(run=answers({}), read={}.get, listdir=lambda path: [],
                        connect=lambda address, timeout: (_ for _ in ()).throw(OSError()))
    assert found["container_runtime"] == "none"
    assert found["container_runtime_version"] == ""


def test_reporting_needs_a_site_and_a_token(capsys, monkeypatch):
    monkeypatch.setattr(probe, "probe", lambda **kwargs: {"cvmfs": "yes"})
    with pytest.raises(SystemExit):
        probe.main(["--url", "http://127.0.0.1:9"])
    assert "give --site and a token" in capsys.readouterr().err


def test_it_prints_what_it_found(capsys, monkeypatch):
    monkeypatch.setattr(probe, "probe", lambda **kwargs: {"cvmfs": "yes",
                                                          "container_runtime_version": ""})
    assert probe.main([]) == 0
    output = capsys.readouterr().out
    assert "cvmfs" in output and "yes" in output
    assert "container_runtime_version    -" in output


def test_the_probe_is_python_3_6():
    ast.parse(inspect.getsource(probe), feature_version=(3, 6))


def test_the_probe_can_be_downloaded_from_the_dashboard(client, db):  # the dashboard reads it
    response = client.get("/probe/wlcg_capability_probe.py")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="wlcg_capability_probe.py"')
    assert b"".join(response.streaming_content).decode() == inspect.getsource(probe)
