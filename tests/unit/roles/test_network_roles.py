# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network roles' own files: argument specs match defaults, per-OS vars agree on their names,
and the conf-* templates render what the run scripts source, for Debian and Gentoo values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shlex
import subprocess

import jinja2
import pytest
import yaml

from ansible.plugins.filter.core import comment
from ansible_collections.mailops.qmail.plugins.filter.network import FilterModule

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles")
NETWORK_ROLES = ["tcpserver", "smtpd", "pop3d", "tls", "smtp_auth", "relay_ctrl", "qmtpd", "smarthost"]


def load(role, *parts):
    with open(os.path.join(ROLES_DIR, role, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("role", NETWORK_ROLES)
def test_argument_specs_are_the_single_source_of_the_defaults(role):
    defaults = load(role, "defaults", "main.yml") or {}
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), "defaults/main.yml and argument_specs differ in names"
    for name, spec in options.items():
        assert defaults[name] == spec.get("default"), name
        assert name.startswith(role + "_"), name
        assert spec.get("description"), name


@pytest.mark.parametrize("role", [r for r in NETWORK_ROLES if os.path.exists(os.path.join(ROLES_DIR, r, "vars", "Debian.yml"))])
def test_debian_and_gentoo_vars_define_the_same_names(role):
    debian, gentoo = load(role, "vars", "Debian.yml"), load(role, "vars", "Gentoo.yml")
    assert set(debian) == set(gentoo)
    assert all(name.startswith("__" + role + "_") for name in debian)


@pytest.mark.parametrize("role", NETWORK_ROLES)
def test_roles_depend_on_the_core_roles(role):
    deps = [d["role"] for d in load(role, "meta", "main.yml")["dependencies"]]
    assert "mailops.qmail.qmail" in deps


def environment(role):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLES_DIR, role, "templates")),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters.update({"mailops.qmail." + name: func for name, func in FilterModule().filters().items()})
    env.filters["comment"] = comment
    env.filters["quote"] = shlex.quote
    env.filters["hash"] = lambda text, kind: hashlib.new(kind, text.encode()).hexdigest()
    env.filters["combine"] = lambda *dicts: {k: v for d in dicts for k, v in d.items()}
    return env


def render(role, template, variables):
    env = environment(role)
    variables = dict(variables)
    variables.setdefault("ansible_managed", "Ansible managed")
    variables["lookup"] = lambda kind, name, **kw: env.get_template(name).render(variables)
    return env.get_template(template).render(variables)


def source(*texts, echo):
    """Source conf texts in a real shell, as the run script does, and echo variables."""
    script = "\n".join(texts) + "\nprintf '%s' \"" + "|".join("$" + name for name in echo) + "\""
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout


COMMON = dict(qmail_control_dir="/var/qmail/control", __tcpserver_qmaild_user="root",
              tcpserver_softlimit_opts=["-m", "64000000"], tcpserver_host="0",
              tcpserver_opts=["-v", "-R", "-l", "0"], tcpserver_pre=[])


def test_conf_common_reads_maxconn_from_concurrencyincoming(tmp_path):
    text = render("tcpserver", "conf-common.j2", dict(COMMON, qmail_control_dir=str(tmp_path)))
    assert text.startswith("#\n# Ansible managed\n#\n")
    assert source(text, echo=["MAXCONN", "QMAILDUID", "SOFTLIMIT_OPTS", "TCPSERVER_OPTS"]) == "40|0|-m 64000000|-v -R -l 0"
    (tmp_path / "concurrencyincoming").write_text("120\n")
    assert source(text, echo=["MAXCONN"]) == "120"


def smtpd_vars(flavour, auth, **extra):
    post = FilterModule().filters()["qmail_smtpd_auth"](flavour, "mx.example.org", auth)
    values = dict(port=25, rules="/etc/tcprules.d/tcp.qmail-smtp", auth=post,
                  __smtpd_chain=["/usr/bin/relay-ctrl-check",
                                 "rblsmtpd", "-r", "zen.spamhaus.org"],
                  smtpd_qmailqueue=None, smtpd_env={})
    values.update(extra)
    return values


@pytest.mark.parametrize("flavour, post, exports", [
    ("gentoo", "mx.example.org /bin/cmd5checkpw /bin/true", ""),
    ("sagredo", "/bin/cmd5checkpw /bin/true", "+cram|1"),
])
def test_conf_smtpd_per_flavour(flavour, post, exports):
    auth = {"command": ["/bin/cmd5checkpw"], "mechanisms": ["PLAIN", "LOGIN", "CRAM-MD5"],
            "force_tls": flavour == "sagredo"}
    text = render("smtpd", "conf-smtpd.j2", smtpd_vars(flavour, auth))
    out = source(text, echo=["TCPSERVER_PORT", "TCPSERVER_RULES", "QMAIL_SMTP_PRE", "QMAIL_SMTP_POST"])
    assert out == ("25|/etc/tcprules.d/tcp.qmail-smtp.cdb|/usr/bin/relay-ctrl-check "
                   "rblsmtpd -r zen.spamhaus.org|" + post)
    assert source(text, echo=["SMTPAUTH", "FORCETLS"]) == (exports or "|")
    if exports:
        assert "export SMTPAUTH='+cram'" in text


def test_conf_smtpd_exports_qmailqueue():
    text = render("smtpd", "conf-smtpd.j2", smtpd_vars("notqmail", None, smtpd_qmailqueue="/usr/bin/qmail-scanner"))
    assert "export QMAILQUEUE='/usr/bin/qmail-scanner'" in text
    assert source(text, echo=["QMAIL_SMTP_POST"]) == ""


def pop3d_vars(**extra):
    gentoo = load("pop3d", "vars", "Gentoo.yml")
    values = dict(port=110, __pop3d_tcprules_file=gentoo["__pop3d_default_tcprules_path"],
                  __pop3d_popup_host="mail.example.org", __pop3d_backend="checkpassword",
                  __pop3d_commands={"checkpassword": ["/bin/checkpassword"]}, pop3d_preauth=[],
                  __pop3d_postauth_chain=["/usr/bin/relay-ctrl-allow"],
                  __pop3d_mailbox=gentoo["__pop3d_default_maildir"], __pop3d_env={})
    values.update(extra)
    return values


def test_conf_pop3d_with_gentoo_values():
    text = render("pop3d", "conf-pop3d.j2", pop3d_vars())
    out = source(text, echo=["TCPSERVER_RULES", "QMAIL_POP3_POP3HOST", "QMAIL_POP3_CHECKPASSWORD", "QMAIL_POP3_PREAUTH",
                             "QMAIL_POP3_POSTAUTH", "QMAIL_POP3_MAILDIR"])
    assert out == ("/etc/tcprules.d/tcp.qmail-pop3.cdb|mail.example.org|/bin/checkpassword|"
                   "|/usr/bin/relay-ctrl-allow|./.maildir/")


def test_stunnel_runs_the_chain_the_pop3d_run_script_builds():
    """POP3S (stunnel's exec) and POP3 (the run script reading conf-pop3d) must run the same session."""
    values = pop3d_vars(pop3d_preauth=["/usr/bin/nice"], port=995, ansible_managed="Ansible managed",
                        __pop3d_tls_certificate_file="/var/qmail/control/servercert.pem")
    defaults = load("pop3d", "vars", "main.yml")
    env = environment("pop3d")
    values["__pop3d_session"] = yaml.safe_load(env.from_string(defaults["__pop3d_session"]).render(
        dict(values, qmail_home="/var/qmail")))
    conf = render("pop3d", "stunnel-pop3ds.conf.j2", values)
    settings = dict(line.split(" = ", 1) for line in conf.splitlines() if " = " in line and not line.startswith(";"))
    assert settings["cert"] == "/var/qmail/control/servercert.pem"
    assert settings["exec"] == "/usr/bin/nice"
    tasks = load("pop3d", "tasks", "service.yml")
    items = next(task["loop"] for task in tasks if "ansible.builtin.include_role" in task)
    command = next(item["command"] for item in items if item["name"] == "qmail-pop3d")
    script = render("pop3d", "conf-pop3d.j2", values) + "\necho " + command.replace("{{ qmail_home }}", "/var/qmail")
    run_chain = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert settings["execArgs"] == run_chain


@pytest.mark.parametrize("service_pre, expected", [
    ([], "/usr/bin/nice"),
    (["/usr/bin/envdir", "/etc/relay-ctrl", "/usr/bin/relay-ctrl-chdir"],
     "/usr/bin/nice /usr/bin/envdir /etc/relay-ctrl /usr/bin/relay-ctrl-chdir"),
])
def test_service_conf_extends_the_common_tcpserver_chain(service_pre, expected):
    """relay-ctrl-chdir must run as root before tcpserver (relay-ctrl's README), so a service adds
    to QMAIL_TCPSERVER_PRE; after the user switch qmaild cannot open the spool."""
    values = dict(COMMON, tcpserver_pre=["/usr/bin/nice"], tcpserver_service_name="qmail-smtpd",
                  tcpserver_service_conf="TCPSERVER_PORT='25'\n", tcpserver_service_pre=service_pre)
    common = render("tcpserver", "conf-common.j2", values)
    conf = render("tcpserver", "conf-service.j2", values)
    assert source(common, conf, echo=["QMAIL_TCPSERVER_PRE", "TCPSERVER_PORT"]) == expected + "|25"
    assert ("QMAIL_TCPSERVER_PRE" in conf) == bool(service_pre), "no relay-ctrl, no change to the conf file"


def test_run_script_is_valid_shell_and_carries_the_settings_digest():
    values = dict(COMMON, tcpserver_service_name="qmail-smtpd", tcpserver_service_conf_name="conf-smtpd",
                  tcpserver_service_command="${QMAIL_SMTP_PRE} /var/qmail/bin/qmail-smtpd ${QMAIL_SMTP_POST}",
                  __tcpserver_bin_dir="/usr/bin", __tcpserver_service_conf_text="TCPSERVER_PORT='25'\n")
    run = render("tcpserver", "run.j2", values)
    assert run.startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n"], input=run, text=True, check=True)
    assert "-x \"$TCPSERVER_RULES\" -c \"$MAXCONN\"" in run and "/var/qmail/bin/qmail-smtpd ${QMAIL_SMTP_POST}" in run
    changed = render("tcpserver", "run.j2", dict(values, __tcpserver_service_conf_text="TCPSERVER_PORT='26'\n"))
    assert changed != run, "a changed conf file must change the run script, so supervise restarts the service"
