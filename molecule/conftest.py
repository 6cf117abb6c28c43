"""Fixtures shared by every molecule scenario's testinfra tests.

Tests reach the containers through testinfra's podman backend (ten times faster than the ansible
backend, and exact about file contents). Tests that need running qmail are marked
`requires_qmail` and skip unless MAILOPS_QMAIL_IMAGE names an image with qmail installed.
"""
import os
import re
import subprocess
import textwrap

import pytest
import testinfra
import yaml

QMAIL_IMAGE = os.environ.get("MAILOPS_QMAIL_IMAGE", "")

requires_qmail = pytest.mark.skipif(
    not QMAIL_IMAGE,
    reason="needs qmail binaries: set MAILOPS_QMAIL_IMAGE to a local image with qmail installed under /var/qmail",
)


def _scenario_dir():
    return os.environ["MOLECULE_SCENARIO_DIRECTORY"]


@pytest.fixture(scope="session")
def platforms():
    with open(os.path.join(_scenario_dir(), "molecule.yml"), encoding="utf-8") as handle:
        return [p["name"] for p in yaml.safe_load(handle)["platforms"]]


@pytest.fixture(scope="session")
def hosts(platforms):
    """testinfra hosts by platform name."""
    return {name: testinfra.get_host("podman://%s" % name) for name in platforms}


@pytest.fixture(scope="session")
def host(hosts, platforms):
    """The scenario's first platform, for single-host scenarios."""
    return hosts[platforms[0]]


def platform(name):
    """A module fixture named after platform `name`: its testinfra host (`mx = platform("mx")`)."""
    @pytest.fixture(scope="module", name=name)
    def _host(hosts):
        return hosts[name]
    return _host


def sh(host, command):
    """The output of a command that must succeed on host."""
    result = host.run(command)
    assert result.rc == 0, command + "\n" + result.stdout + result.stderr
    return result.stdout


def python_in(host, script):
    """What a Python script prints on host, run by the host's python3."""
    return sh(host, "python3 - <<'PY'\n%s\nPY" % textwrap.dedent(script)).strip()


def run_playbook(playbook, *extra_args):
    """Run one of the scenario's playbooks against its inventory; return the CompletedProcess."""
    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.path.join(_scenario_dir(), playbook),
         *extra_args],
        capture_output=True, text=True, check=False,
    )


def failed_run_output(playbook, *extra_args):
    """Run a scenario playbook that must fail; return its output on one line (the YAML callback
    wraps long messages, and failures go to stderr)."""
    result = run_playbook(playbook, *extra_args)
    assert result.returncode != 0, result.stdout[-4000:]
    return " ".join((result.stdout + result.stderr).split())


def converge_recap(*extra_args):
    """Run the scenario's converge playbook again with extra arguments; return {host: recap counts}."""
    result = run_playbook("converge.yml", *extra_args)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    recap = {}
    for match in re.finditer(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                             r"\s+skipped=(\d+)", result.stdout, re.MULTILINE):
        recap[match.group(1)] = {"ok": int(match.group(2)), "changed": int(match.group(3)),
                                 "failed": int(match.group(5)), "skipped": int(match.group(6))}
    assert recap, "no play recap in:\n" + result.stdout[-4000:]
    return recap, result.stdout
