# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role content_filter: qmail-filter's configuration, its wrapper and spamd's options as the role
renders them for Debian and Gentoo, read back by qmail-filter and sh (the grammar of its variables
is judged by the preflight: tests/unit/plugins/plugin_utils/test_content_filter.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position
import test_network_roles as network_roles  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mailops.qmail.plugins.module_utils import qmail_filter  # noqa: E402
from ansible_collections.mailops.qmail.plugins.plugin_utils import content_filter  # noqa: E402
from ansible_collections.mailops.qmail.plugins.plugin_utils.preflight import Variables  # noqa: E402

CONFIG = "etc/mailops-qmail/qmail-filter.json.j2"
WRAPPER = "usr/local/lib/mailops-qmail/qmail-filter-queue.j2"
SPAMD = "spamd.env.j2"
PROGRAM = os.path.join(r.ROLES, "content_filter", "files", "qmail-filter")
MODULE = os.path.join(r.ROOT, "plugins", "module_utils", "qmail_filter.py")


def role_vars(family, **extra):
    return r.role_vars("content_filter", family, dependencies=["qmail"], **extra)


def check(text, tmp_path):
    """qmail-filter --check on the rendered configuration, with its module beside it as the role installs them."""
    for source in (PROGRAM, MODULE):
        shutil.copy(source, str(tmp_path / os.path.basename(source)))
    path = tmp_path / "qmail-filter.json"
    path.write_text(text)
    return subprocess.run([sys.executable, "-I", str(tmp_path / "qmail-filter"), "--check", str(path)],
                          capture_output=True, text=True, check=False)


def sourced(text, name, tmp_path):
    """The value of `name` after sh sources the rendered file, as the init scripts do."""
    path = tmp_path / "env"
    path.write_text(text)
    return subprocess.run(["sh", "-c", '. "$1"; printf %s "$' + name + '"', "sh", str(path)],
                          capture_output=True, text=True, check=True).stdout


def test_argument_specs_are_the_single_source_of_the_defaults():
    defaults = r.load(os.path.join(r.ROLES, "content_filter", "defaults", "main.yml"))
    options = r.load(os.path.join(r.ROLES, "content_filter", "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
        assert name.startswith("content_filter_") and spec.get("description"), name


def test_debian_and_gentoo_vars_define_the_same_internal_names():
    debian = r.load(os.path.join(r.ROLES, "content_filter", "vars", "Debian.yml"))
    gentoo = r.load(os.path.join(r.ROLES, "content_filter", "vars", "Gentoo.yml"))
    assert set(debian) == set(gentoo)
    assert all(name.startswith("__content_filter_") for name in debian)


@pytest.mark.parametrize("family, socket", [("Debian", "/var/run/clamav/clamd.ctl"), ("Gentoo", "/run/clamav/clamd.sock")])
def test_the_default_configuration_is_what_qmail_filter_reads_by_default(family, socket, tmp_path):
    text = r.render_template("content_filter", CONFIG, role_vars(family))
    policy = qmail_filter.load_config(text)
    assert policy == qmail_filter.parse_config(dict(qmail_filter.DEFAULTS, clamd_address=socket))
    # The check the role's template task runs before the file replaces the old one.
    done = check(text, tmp_path)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("given", [
    {},
    {"content_filter_spam_action": "reject", "content_filter_tag_score": "4.5", "content_filter_reject_score": 8},
    {"content_filter_clamav_enabled": "yes", "content_filter_virus_action": "tag", "content_filter_fail_open": True,
     "content_filter_spamd_timeout": 30, "content_filter_clamd_max_bytes": 1000},
    {"content_filter_spamd_address": "::1", "content_filter_spamd_port": 10783, "qmail_home": "/opt/qmail"},
])
def test_the_written_configuration_is_what_the_preflight_judged(given):
    variables = role_vars("Debian", **given)
    written = json.loads(r.render_template("content_filter", CONFIG, variables))
    judged = content_filter.settings(Variables(lambda name: r.value(variables, name)))
    assert qmail_filter.parse_config({key: written[key] for key in judged}) == qmail_filter.parse_config(judged)
    assert written["queue_program"] == r.value(variables, "qmail_home") + "/bin/qmail-queue"
    assert set(written) == set(qmail_filter.DEFAULTS) - {"spamd_user"}


def test_a_configuration_qmail_filter_refuses_fails_the_check(tmp_path):
    text = r.render_template("content_filter", CONFIG, role_vars("Debian", content_filter_tag_score="five"))
    done = check(text, tmp_path)
    assert done.returncode == qmail_filter.EXIT_CONFIG
    assert "tag_score: 'five' is not a number" in done.stderr


@pytest.mark.parametrize("family", ["Debian", "Gentoo"])
def test_the_wrapper_runs_qmail_filter_isolated_with_its_configuration(family, tmp_path):
    variables = role_vars(family)
    text = r.render_template("content_filter", WRAPPER, variables)
    assert text.startswith("#!/bin/sh\n")
    exec_line = [line for line in text.splitlines() if line.startswith("exec ")]
    assert shlex.split(exec_line[0]) == ["exec", "/usr/bin/python3", "-I", "/usr/local/lib/mailops-qmail/qmail-filter",
                                         "/etc/mailops-qmail/qmail-filter.json"]
    assert r.value(variables, "__content_filter_queue_wrapper") == "/usr/local/lib/mailops-qmail/qmail-filter-queue"
    (tmp_path / "wrapper").write_text(text)
    assert subprocess.run(["sh", "-n", str(tmp_path / "wrapper")], check=False).returncode == 0


def test_the_library_directory_is_shared_with_send_without_a_name_in_common():
    variables = role_vars("Debian")
    send = r.role_vars("send", "Debian", dependencies=["qmail", "daemontools"])
    assert r.value(variables, "__content_filter_lib_dir") == r.value(send, "__send_report_dir")
    ours = {"qmail-filter", "qmail_filter.py", "qmail-filter-queue"}
    assert not ours & {"qmail-logreport", "qmail_log.py"}
    assert os.path.basename(r.value(variables, "__content_filter_program")) in ours


@pytest.mark.parametrize("family, name, others", [
    ("Debian", "OPTIONS", {"PIDFILE": "/run/spamd.pid"}),
    ("Gentoo", "SPAMD_OPTS", {"SPAMD_RUN_AS_ROOT": "false"}),
])
@pytest.mark.parametrize("address, port, listen", [("127.0.0.1", 783, "127.0.0.1:783"), ("::1", 10783, "[::1]:10783")])
def test_spamd_listens_where_qmail_filter_connects(family, name, others, address, port, listen, tmp_path):
    variables = role_vars(family, content_filter_spamd_address=address, content_filter_spamd_port=port,
                          content_filter_spamd_max_children=3)
    text = r.render_template("content_filter", SPAMD, variables)
    options = sourced(text, name, tmp_path).split()
    assert "--listen=" + listen in options
    assert options[options.index("--max-children") + 1] == "3"
    for other, value in others.items():
        assert sourced(text, other, tmp_path) == value
    written = json.loads(r.render_template("content_filter", CONFIG, variables))
    assert written["spamd_address"] == listen


@pytest.mark.parametrize("family, enabled, service_mgr, dropins", [
    ("Debian", True, "systemd", ["/etc/systemd/system/clamav-daemon.service.d", "/etc/systemd/system/clamav-daemon.socket.d"]),
    ("Debian", True, "sysvinit", []),
    ("Debian", False, "systemd", []),
    ("Gentoo", True, "openrc", []),
])
def test_clamd_packages_and_drop_ins_only_when_enabled(family, enabled, service_mgr, dropins):
    variables = role_vars(family, content_filter_clamav_enabled=enabled, ansible_facts={"service_mgr": service_mgr})
    assert r.value(variables, "__content_filter_clamd_dropins") == dropins
    packages = r.value(variables, "__content_filter_packages")
    clamav = r.value(variables, "__content_filter_clamav_packages")
    assert (set(clamav) <= set(packages)) == enabled
    assert set(r.value(variables, "__content_filter_spamd_packages")) <= set(packages)


def test_the_configuration_is_readable_by_qmaild_s_group():
    variables = role_vars("Debian", qmail_users=[{"name": "qmaild", "group": "smtpd"}])
    assert r.value(variables, "__content_filter_qmaild_group") == "smtpd"
    assert r.value(role_vars("Gentoo"), "__content_filter_qmaild_group") == "nofiles"


@pytest.mark.parametrize("published, own, expected", [
    (None, None, None),
    ("/usr/local/lib/mailops-qmail/qmail-filter-queue", None, "/usr/local/lib/mailops-qmail/qmail-filter-queue"),
    (None, "/usr/bin/qmail-scanner", "/usr/bin/qmail-scanner"),
])
def test_smtpd_exports_the_published_filter_unless_its_own_is_set(published, own, expected):
    extra = {"smtpd_qmailqueue": own}
    if published:
        extra["content_filter_qmailqueue"] = published
    text = network_roles.render("smtpd", "conf-smtpd.j2", network_roles.smtpd_vars("sagredo", None, **extra))
    assert network_roles.source(text, echo=["QMAILQUEUE"]) == (expected or "")
    assert ("export QMAILQUEUE=" in text) == bool(expected)


def test_qmail_filter_hands_on_the_message_under_qmail_smtpds_softlimit(tmp_path):
    """qmail-smtpd's run script starts it under `softlimit -m` (tcpserver_softlimit_opts), which
    sets data, stack and address-space limits alike; qmail-filter runs there as qmail-smtpd's child."""
    import resource
    limit = int(r.load(os.path.join(r.ROLES, "tcpserver", "defaults", "main.yml"))["tcpserver_softlimit_opts"][1])
    queue = tmp_path / "queue"
    queue.write_text("#!/bin/sh\ncat > %s/message; cat <&1 > %s/envelope; exit 0\n" % (tmp_path, tmp_path))
    queue.chmod(0o755)
    config = json.dumps({"queue_program": str(queue), "spamd_enabled": False})
    done = check(config, tmp_path)
    assert done.returncode == 0
    envelope = b"Falice@example.com\0Tbob@example.org\0\0"
    (tmp_path / "in-envelope").write_bytes(envelope)

    def softlimit():
        for kind in (resource.RLIMIT_DATA, resource.RLIMIT_STACK, resource.RLIMIT_AS):
            resource.setrlimit(kind, (limit, resource.getrlimit(kind)[1]))

    with open(str(tmp_path / "in-envelope"), "rb") as fd1:
        done = subprocess.run(["/usr/bin/python3", "-I", str(tmp_path / "qmail-filter"), str(tmp_path / "qmail-filter.json")],
                              input=b"Subject: lunch\n\nSee you at noon.\n", stdout=fd1, stderr=subprocess.PIPE,
                              preexec_fn=softlimit, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "envelope").read_bytes() == envelope
    assert (tmp_path / "message").read_bytes().endswith(b"\n\nSee you at noon.\n")


@pytest.mark.parametrize("network, local", [(True, False), (False, True)])
def test_spamd_runs_local_only_when_network_tests_are_off(network, local, tmp_path):
    variables = role_vars("Debian", content_filter_spamd_network_tests=network)
    options = sourced(r.render_template("content_filter", SPAMD, variables), "OPTIONS", tmp_path).split()
    assert ("--local" in options) is local
