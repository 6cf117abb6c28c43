# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""daemontools: the boot method chosen from the host's init system, what each method installs,
the refusal of an unknown init system, and the OpenRC script (the same on Gentoo and Debian)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position


def daemontools_vars(family, service_mgr, **extra):
    return r.role_vars("daemontools", family, dependencies=["qmail"],
                       ansible_facts={"service_mgr": service_mgr}, **extra)


def init_check():
    """The role's first check, as written in tasks/main.yml."""
    tasks = r.load(os.path.join(r.ROLES, "daemontools", "tasks", "main.yml"))
    return [t for t in tasks if "ansible.builtin.assert" in t][0]["ansible.builtin.assert"]


@pytest.mark.parametrize("family, service_mgr, packages", [
    ("Debian", "systemd", ["daemontools", "ucspi-tcp", "daemontools-run"]),
    # daemontools-run's postinst would add its own inittab line beside the role's method.
    ("Debian", "openrc", ["daemontools", "ucspi-tcp"]),
    ("Debian", "sysvinit", ["daemontools", "ucspi-tcp"]),
    ("Gentoo", "systemd", ["sys-process/daemontools", "sys-apps/ucspi-tcp"]),
    ("Gentoo", "openrc", ["sys-process/daemontools", "sys-apps/ucspi-tcp"]),
])
def test_packages_follow_the_boot_method(family, service_mgr, packages):
    assert r.value(daemontools_vars(family, service_mgr), "__daemontools_install_packages") == packages


def test_explicit_boot_method_wins_over_the_detected_one():
    variables = daemontools_vars("Debian", "systemd", daemontools_boot="inittab")
    assert r.value(variables, "__daemontools_boot_method") == "inittab"
    assert "daemontools-run" not in r.value(variables, "__daemontools_install_packages")


@pytest.mark.parametrize("service_mgr, passes", [
    ("systemd", True), ("openrc", True), ("sysvinit", True),
    ("catatonit", False), ("runit", False), ("service", False),
])
def test_init_check_passes_only_known_init_systems(service_mgr, passes):
    variables = daemontools_vars("Debian", service_mgr)
    assert r.render(variables, "{{ %s }}" % init_check()["that"]) is passes


def test_init_check_fails_cleanly_without_the_service_mgr_fact():
    variables = r.role_vars("daemontools", "Debian", dependencies=["qmail"])
    del variables["ansible_facts"]["service_mgr"]
    assert r.render(variables, "{{ %s }}" % init_check()["that"]) is False
    assert "service_mgr fact: not gathered" in " ".join(r.render(variables, init_check()["fail_msg"]).split())


def test_init_check_names_the_detected_and_the_known_init_systems():
    message = " ".join(r.render(daemontools_vars("Debian", "catatonit"), init_check()["fail_msg"]).split())
    assert "service_mgr fact: catatonit" in message
    assert "(systemd, openrc, sysvinit)" in message
    assert "daemontools_boot to systemd, openrc or inittab" in message


@pytest.mark.parametrize("family, scan_dir", [("Gentoo", "/service"), ("Debian", "/etc/service"),
                                              ("Gentoo", "/var/service")])
def test_openrc_script_runs_svscan_on_the_scan_dir(family, scan_dir):
    variables = daemontools_vars(family, "openrc", daemontools_scan_dir=scan_dir)
    script = r.render_template("daemontools", "etc/init.d/svscan.j2", variables)
    assert script.startswith("#!/sbin/openrc-run\n")
    assert 'command=/usr/bin/svscan\ncommand_args="%s"\n' % scan_dir in script
    assert "svc -dx %s/* " % scan_dir in script and "svc -dx %s/*/log " % scan_dir in script
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
