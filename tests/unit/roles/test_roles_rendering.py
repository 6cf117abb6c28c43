# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core roles' per-OS variables and templates, rendered with Ansible's templating.

Gentoo cannot run here, so every Gentoo vars file and every template the Gentoo path uses is
rendered and checked; Debian's are rendered too where the comparison says something.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position

CORE_ROLES = ["qmail", "daemontools", "send", "mta_swap"]
DEPENDENCIES = {"qmail": [], "daemontools": ["qmail"], "send": ["qmail", "daemontools"], "mta_swap": ["qmail"]}


def role_vars(role, family="Gentoo", **extra):
    return r.role_vars(role, family, dependencies=DEPENDENCIES[role], **extra)


def sh_syntax_ok(script):
    return subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True, check=False).returncode == 0


# ---- argument specs are the single source of truth -------------------------------------------
@pytest.mark.parametrize("role", CORE_ROLES)
def test_defaults_match_argument_specs_exactly(role):
    defaults = r.load(os.path.join(r.ROLES, role, "defaults", "main.yml"))
    options = r.load(os.path.join(r.ROLES, role, "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
        assert spec.get("description"), name


@pytest.mark.parametrize("role", CORE_ROLES)
@pytest.mark.parametrize("family", ["Debian", "Gentoo"])
def test_every_role_has_both_os_vars_files_with_internal_names(role, family):
    variables = r.load(os.path.join(r.ROLES, role, "vars", family + ".yml"))
    assert variables
    assert all(name.startswith("__%s_" % role) for name in variables)


# ---- daemontools -----------------------------------------------------------------------------
def test_gentoo_scan_dir_is_slash_service():
    assert r.value(role_vars("daemontools"), "daemontools_scan_dir") == "/service"
    assert r.value(role_vars("daemontools", "Debian"), "daemontools_scan_dir") == "/etc/service"


def test_gentoo_inittab_line_is_the_guides():
    assert r.value(role_vars("daemontools"), "__daemontools_inittab_line") == "SV:12345:respawn:/usr/bin/svscanboot"


def test_another_scan_dir_runs_svscan_on_it():
    variables = role_vars("daemontools", daemontools_scan_dir="/var/service")
    assert r.value(variables, "__daemontools_inittab_line") == "SV:12345:respawn:/usr/bin/svscan /var/service"
    unit = r.render_template("daemontools", "etc/systemd/system/svscan.service.d/mailops-scan-dir.conf.j2", variables)
    assert "[Service]\nExecStart=\nExecStart=/usr/bin/svscan /var/service\n" in unit
    assert unit.startswith("#")


@pytest.mark.parametrize("service_mgr, boot, expected", [
    ("openrc", "auto", "openrc"),
    ("systemd", "auto", "systemd"),
    ("sysvinit", "auto", "inittab"),
    # Unknown init systems get no method: the role's first check fails on them.
    ("catatonit", "auto", ""),
    ("service", "auto", ""),
    ("openrc", "inittab", "inittab"),
])
def test_boot_method(service_mgr, boot, expected):
    variables = role_vars("daemontools", ansible_facts={"service_mgr": service_mgr}, daemontools_boot=boot)
    assert r.value(variables, "__daemontools_boot_method") == expected


def test_gentoo_packages_and_units():
    variables = role_vars("daemontools")
    assert r.value(variables, "__daemontools_packages") == ["sys-process/daemontools", "sys-apps/ucspi-tcp"]
    assert r.value(variables, "__daemontools_openrc_service") == "svscan"
    assert r.value(variables, "__daemontools_refresh_apt") is False


# ---- qmail -----------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour, atom", [("gentoo", "mail-mta/netqmail"), ("notqmail", "mail-mta/notqmail")])
def test_gentoo_package_use_names_the_flavours_atom(flavour, atom):
    variables = role_vars("qmail", qmail_flavour=flavour, qmail_emerge_use=["ssl", "-pop3"])
    text = r.render_template("qmail", "etc/portage/package.use/mailops-qmail.j2", variables)
    assert text.splitlines()[-1] == "%s ssl -pop3" % atom
    assert r.value(variables, "__qmail_package_use_file") == "/etc/portage/package.use/mailops-qmail"


@pytest.mark.parametrize("family, method, extra, fragment", [
    ("Gentoo", "emerge", {"qmail_flavour": "sagredo"}, "qmail_emerge_atom is empty"),
    ("Debian", "emerge", {}, "qmail_install_method=emerge needs Gentoo"),
    ("Gentoo", "package", {"qmail_package_path": "/tmp/q.deb"}, "needs Debian"),
    ("Debian", "package", {}, "qmail_package_path"),
])
def test_install_settings_that_cannot_work_are_named(family, method, extra, fragment):
    variables = role_vars("qmail", family, __qmail_method=method, **extra)
    problems = r.value(variables, "__qmail_problems_before_install")
    assert any(fragment in problem for problem in problems), problems


@pytest.mark.parametrize("family, method, extra", [
    ("Gentoo", "emerge", {"qmail_flavour": "gentoo"}),
    ("Gentoo", "emerge", {"qmail_flavour": "sagredo", "qmail_emerge_atom": "mail-mta/qmail-sagredo"}),
    ("Debian", "package", {"qmail_package_path": "/srv/qmail.deb"}),
    ("Debian", "none", {}),
])
def test_workable_install_settings_pass(family, method, extra):
    variables = role_vars("qmail", family, __qmail_method=method, **extra)
    assert r.value(variables, "__qmail_problems_before_install") == []


def probe(stdout):
    return {"__qmail_probe": {"stdout": stdout}}


ALL_BINARIES = "binaries:\n" + "".join("  - %s\n" % b for b in [
    "qmail-send", "qmail-start", "qmail-lspawn", "qmail-rspawn", "qmail-clean", "qmail-local", "qmail-remote",
    "qmail-queue", "qmail-inject", "qmail-smtpd", "qmail-qstat", "qmail-qread", "sendmail"])


@pytest.mark.parametrize("markers, matching", [
    ("  smtpd_starttls: 0\n  smtpd_forcetls: 0\n", ["notqmail"]),
    ("  smtpd_starttls: 1\n  smtpd_forcetls: 1\n", ["sagredo"]),
    ("  smtpd_starttls: 2\n  smtpd_forcetls: 0\n", ["gentoo", "jms"]),
])
def test_flavours_matching_the_binaries(markers, matching):
    variables = role_vars("qmail", **probe(ALL_BINARIES + "markers:\n" + markers))
    assert r.value(variables, "__qmail_flavours_matching") == matching
    assert r.value(variables, "__qmail_binaries_missing") == []


def test_flavour_disagreement_is_reported_with_evidence():
    variables = role_vars("qmail", qmail_flavour="notqmail", __qmail_method="existing",
                          **probe(ALL_BINARIES + "markers:\n  smtpd_starttls: 1\n  smtpd_forcetls: 1\n"))
    problems = r.value(variables, "__qmail_problems_after_install")
    assert len(problems) == 1
    assert "qmail_flavour=notqmail disagrees" in problems[0]
    assert "qmail-smtpd offers STARTTLS: yes" in problems[0]
    assert "they match: sagredo" in problems[0]
    assert r.value(dict(variables, qmail_flavour_check=False), "__qmail_problems_after_install") == []


def test_missing_binaries_fail_method_existing_but_not_none():
    partial = probe("binaries:\n  - qmail-send\nmarkers:\n  smtpd_starttls:\n  smtpd_forcetls:\n")
    existing = r.value(role_vars("qmail", __qmail_method="existing", **partial), "__qmail_problems_after_install")
    assert "qmail_install_method=existing but these programs are missing" in existing[0]
    assert "qmail-smtpd" in existing[0]
    assert r.value(role_vars("qmail", __qmail_method="none", **partial), "__qmail_problems_after_install") == []
    assert r.value(role_vars("qmail", __qmail_method="emerge", ansible_check_mode=True, **partial),
                   "__qmail_problems_after_install") == []


def test_empty_probe_means_no_binaries():
    variables = role_vars("qmail", **probe("binaries: []\n"))
    assert "qmail-send" in r.value(variables, "__qmail_binaries_missing")


def test_probe_script_greps_the_marker_strings():
    script = r.value(role_vars("qmail"), "__qmail_probe_script")
    assert "grep -a -c -e STARTTLS qmail-smtpd" in script
    assert "grep -a -c -e FORCETLS qmail-smtpd" in script
    assert sh_syntax_ok(script)


# ---- send ------------------------------------------------------------------------------------
def test_gentoo_default_delivery_is_dot_maildir():
    text = r.render_template("send", "var/qmail/control/defaultdelivery.j2", role_vars("send"))
    assert [line for line in text.splitlines() if line and not line.startswith("#")] == ["./.maildir/"]


@pytest.mark.parametrize("family, extra, lines", [
    ("Debian", {}, ["./Maildir/"]),
    ("Gentoo", {"send_dot_forward": True}, ["|dot-forward .forward", "./.maildir/"]),
    ("Debian", {"send_delivery": "mbox"}, ["./Mailbox"]),
    ("Debian", {"send_delivery": "custom", "send_delivery_custom": ["|preline procmail"]}, ["|preline procmail"]),
])
def test_default_delivery_lines(family, extra, lines):
    assert r.value(role_vars("send", family, **extra), "__send_defaultdelivery_lines") == lines


def test_gentoo_qmailctl_uses_slash_service_and_offers_the_lwq_commands():
    text = r.render_template("send", "var/qmail/bin/qmailctl.j2", role_vars("send"))
    assert "\nSCAN=/service\n" in text
    for command in ("start)", "stop)", "stat)", "doqueue|alrm|flush)", "queue)", "reload|hup)", "pause)", "cont)",
                    "restart)", "cdb)", "help)"):
        assert "\n    %s\n" % command in text, command
    assert sh_syntax_ok(text)


@pytest.mark.skipif(not os.path.exists("/usr/bin/tcprules"), reason="needs ucspi-tcp's tcprules (apt install ucspi-tcp)")
def test_qmailctl_cdb_rebuilds_the_rules_every_service_conf_names(tmp_path):
    """Services added later (submission, QMTP, QMQP) are found through their conf files."""
    control = tmp_path / "control"
    control.mkdir()
    (control / "conf-common").write_text("TCPSERVER_RULES=%s/never\n" % tmp_path)
    for service in ("smtpd", "smtpd-submission", "qmqpd"):
        (control / ("conf-" + service)).write_text("TCPSERVER_RULES='%s/tcp.%s.cdb'\n" % (tmp_path, service))
        (tmp_path / ("tcp." + service)).write_text("127.:allow,RELAYCLIENT=\"\"\n:allow\n")
    (tmp_path / "tcp.extra").write_text(":deny\n")
    script = tmp_path / "qmailctl"
    script.write_text(r.render_template("send", "var/qmail/bin/qmailctl.j2", role_vars(
        "send", qmail_control_dir=str(control), send_qmailctl_tcprules=[str(tmp_path / "tcp.extra")])))
    out = subprocess.run(["sh", str(script), "cdb"], capture_output=True, text=True, check=True).stdout
    built = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".cdb")
    assert built == ["tcp.extra.cdb", "tcp.qmqpd.cdb", "tcp.smtpd-submission.cdb", "tcp.smtpd.cdb"], out
    assert out.count("Reloaded") == 4 and "never" not in out


def test_rc_reads_default_delivery_without_comments():
    text = r.render_template("send", "var/qmail/rc.j2", role_vars("send"))
    assert text.startswith("#!/bin/sh\n")
    assert "exec env - PATH=\"/var/qmail/bin:$PATH\" \\\nqmail-start \"`grep -v '^#' /var/qmail/control/defaultdelivery`\"" in text
    assert sh_syntax_ok(text)


def test_control_defaults_follow_qmail_me_and_merge_overrides():
    variables = role_vars("send", qmail_me="mx.example.net",
                          send_control_files={"concurrencyremote": 40, "plusdomain": None})
    files = r.value(variables, "__send_control_files")
    assert files["me"] == "mx.example.net"
    assert files["locals"] == ["mx.example.net"]
    assert files["concurrencyremote"] == 40
    assert files["plusdomain"] is None


def test_maildirs_for_users_and_skel():
    variables = role_vars("send", send_maildir_users=["kris"], ansible_facts={
        "getent_passwd": {"kris": ["x", "1000", "100", "", "/home/kris", "/bin/bash"]}})
    dirs = r.value(variables, "__send_maildirs")
    assert dirs == [
        {"user": "kris", "missing": False, "path": "/home/kris/.maildir", "owner": "1000", "group": "100"},
        {"user": "skel", "missing": False, "path": "/etc/skel/.maildir", "owner": "0", "group": "0"},
    ]
    missing = r.value(role_vars("send", send_maildir_users=["ghost"], ansible_facts={"getent_passwd": {}}),
                      "__send_maildirs")
    assert missing[0]["missing"] is True


@pytest.mark.parametrize("address, content", [("", ""), ("admin@example.org", "&admin@example.org\n")])
def test_alias_content(address, content):
    assert r.value(role_vars("send", send_admin_address=address), "__send_alias_content") == content


# ---- mta_swap --------------------------------------------------------------------------------
def test_gentoo_ssmtp_and_mailbase_are_found_by_package_name():
    variables = role_vars("mta_swap", ansible_facts={"packages": {
        "ssmtp": [{"name": "ssmtp"}], "mailbase": [{"name": "mailbase"}], "bash": [{"name": "bash"}]}})
    incumbents = r.value(variables, "__mta_swap_incumbents")
    assert [m["name"] for m in incumbents] == ["ssmtp"]
    assert incumbents[0]["installed"] == ["mail-mta/ssmtp"]
    assert r.value(variables, "__mta_swap_blockers_installed") == ["net-mail/mailbase"]
    assert r.value(dict(variables, mta_swap_remove_blockers=False), "__mta_swap_blockers_installed") == []


def test_gentoo_postfix_daemon_and_queue_commands():
    variables = role_vars("mta_swap", ansible_facts={"packages": {"postfix": [{"name": "postfix"}]}})
    incumbent = r.value(variables, "__mta_swap_incumbents")[0]
    assert incumbent["services"] == ["postfix"]
    assert incumbent["flush"] == "postqueue -f"
    assert r.value(variables, "__mta_swap_processes") == ["master"]


def test_debian_exim4_packages_found():
    variables = role_vars("mta_swap", "Debian", ansible_facts={"packages": {
        "exim4-base": [{}], "exim4-config": [{}], "exim4-daemon-light": [{}]}})
    incumbent = r.value(variables, "__mta_swap_incumbents")[0]
    assert incumbent["installed"] == ["exim4-base", "exim4-config", "exim4-daemon-light"]
    assert r.value(variables, "__mta_swap_blockers_installed") == []


def test_queued_and_remaining_counts_name_the_mta():
    exim = {"name": "exim4"}
    variables = role_vars("mta_swap", "Debian",
                          __mta_swap_queue={"results": [{"item": exim, "stdout": "3"}, {"item": {"name": "x"}, "stdout": "0"}]},
                          __mta_swap_flush={"results": [{"item": {"item": exim}, "stdout_lines": ["flushing", "1"]},
                                                        {"skipped": True, "item": {"item": {"name": "x"}}}]})
    assert r.value(variables, "__mta_swap_queued") == ["exim4: 3"]
    assert r.value(variables, "__mta_swap_remaining") == ["exim4: 1"]
