# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Implicit-TLS submission (RFC 8314): the smtpd role's third instance, evaluated from the role's own
defaults, vars and tasks as Ansible layers them, and its conf file sourced by a real shell."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import jinja2
import jinja2.nativetypes
import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible_collections.mailops.qmail.plugins.filter.network import FilterModule

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles")
CHECKER = ["/usr/bin/cvm-checkpassword", "/usr/lib/cvm/cvm-pwfile"]
PUBLISHED = {"command": CHECKER, "env": {"CVM_PWFILE_PATH": "/etc/smtp-auth.passwd"},
             "mechanisms": ["PLAIN", "LOGIN"], "force_tls": True}
# What mailops.qmail.smtp_auth publishes on flavours without FORCETLS.
PUBLISHED_NO_FORCETLS = dict(PUBLISHED, force_tls=False)


def environment(kind):
    # Plain Jinja with the collection's filters under their full names: Ansible's collection loader
    # cannot be set up once other test modules have imported this collection as a package.
    env = kind(loader=jinja2.FileSystemLoader(os.path.join(ROLES, "smtpd", "templates")),
               keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    # Ansible's combine; its default() expects Ansible's own undefined values, so Jinja's stays.
    env.filters["combine"] = CoreFilters().filters()["combine"]
    env.filters["comment"] = CoreFilters().filters()["comment"]
    env.filters.update({"mailops.qmail." + name: func for name, func in FilterModule().filters().items()})
    return env


NATIVE, TEXT = environment(jinja2.nativetypes.NativeEnvironment), environment(jinja2.Environment)


class Variables(dict):
    """Variables templated when read, as Ansible's are: a value is rendered with the others."""

    def __getitem__(self, name):
        return resolve(self, dict.__getitem__(self, name))


def resolve(variables, value):
    if isinstance(value, dict):
        return {key: resolve(variables, item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(variables, item) for item in value]
    if isinstance(value, str) and "{{" in value:
        return render(variables, value.strip())
    return value


def run(env, template, variables):
    context = template.new_context(variables, shared=True)
    return env.concat(template.root_render_func(context))  # pylint: disable=no-member


def render(variables, text):
    return run(NATIVE, NATIVE.from_string(text), variables)


def value(variables, name):
    return variables[name]


def load(*parts):
    path = os.path.join(ROLES, *parts)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def tasks(name):
    return load("smtpd", "tasks", name)


def service_task(module):
    return next(task for task in tasks("service.yml") if module in task)


def smtpd_vars(family="Debian", **extra):
    """The smtpd role's variables on `family` (its dependencies' underneath), the smtp_auth role's
    published settings, and service.yml's task vars."""
    variables = Variables()
    for role in ("qmail", "tcpserver", "smtpd"):
        for parts in (("defaults", "main.yml"), ("vars", "main.yml"), ("vars", family + ".yml")):
            variables.update(load(role, *parts))
    variables.update(qmail_flavour="sagredo", qmail_me="mx.example.org", smtp_auth_smtpd=PUBLISHED,
                     smtpd_smtps_enabled=True)
    variables.update(extra)
    variables.update(service_task("ansible.builtin.set_fact")["vars"])
    return variables


def conf(variables, instance):
    """An instance's conf file as service.yml renders it: conf-smtpd.j2 with that instance's port, rules, auth."""
    return run(TEXT, TEXT.get_template("conf-smtpd.j2"), Variables(variables, **variables[instance]))


def source(text, names):
    script = text + "\nprintf '%s' \"" + "|".join("$" + name for name in names) + "\""
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.split("|")


@pytest.mark.parametrize("family, rules", [("Debian", "/etc/tcp.submission.cdb"),
                                           ("Gentoo", "/etc/tcprules.d/tcp.qmail-submission.cdb")])
def test_smtps_speaks_tls_first_and_requires_auth_under_the_submission_rules(family, rules):
    text = conf(smtpd_vars(family), "__smtpd_smtps")
    port, ruleset, post, smtps, auth, forcetls = source(
        text, ["TCPSERVER_PORT", "TCPSERVER_RULES", "QMAIL_SMTP_POST", "SMTPS", "SMTPAUTH", "FORCETLS"])
    assert (port, ruleset) == ("465", rules)
    assert post == " ".join(CHECKER + ["/bin/true"]), "the same password checker as submission"
    assert (smtps, auth, forcetls) == ("1", "!", "1"), "TLS before the greeting, AUTH before MAIL"
    assert "export SMTPS='1'" in text and "export SMTPAUTH='!'" in text


def test_smtps_differs_from_submission_only_in_port_and_implicit_tls():
    variables = smtpd_vars(smtpd_submission_enabled=True, smtpd_smtps_port=10465)
    names = ["TCPSERVER_RULES", "QMAIL_SMTP_PRE", "QMAIL_SMTP_POST", "SMTPAUTH", "FORCETLS", "CVM_PWFILE_PATH"]
    submission, smtps = conf(variables, "__smtpd_submission"), conf(variables, "__smtpd_smtps")
    assert source(smtps, names) == source(submission, names)
    assert source(smtps, ["TCPSERVER_PORT", "SMTPS"]) == ["10465", "1"]
    assert source(submission, ["TCPSERVER_PORT", "SMTPS"]) == ["587", ""]
    assert "SMTPS" not in conf(variables, "__smtpd_main"), "port 25 keeps STARTTLS"


@pytest.mark.parametrize("flavour, tls", [("notqmail", "auto"), ("gentoo", "auto"), ("gentoo", "stunnel"),
                                          ("jms", "native")])
def test_smtps_on_a_flavour_that_cannot_require_auth_fails_naming_the_setting(flavour, tls):
    with pytest.raises(AnsibleError, match="smtpd_smtps_enabled: implicit-TLS submission requires SMTP AUTH before MAIL"):
        value(smtpd_vars(qmail_flavour=flavour, smtpd_smtps_tls=tls), "__smtpd_smtps_method")


def test_smtps_without_smtp_auth_fails_naming_the_setting():
    with pytest.raises(AnsibleError, match="smtpd_smtps_enabled requires SMTP AUTH"):
        value(smtpd_vars(smtp_auth_smtpd=None), "__smtpd_smtps_auth")


@pytest.mark.parametrize("submission, smtps, written", [
    (False, False, False), (True, False, True), (False, True, True), (True, True, True)])
def test_the_submission_rules_are_written_when_either_submission_instance_runs(submission, smtps, written):
    task = next(task for task in tasks("configure.yml") if "mailops.qmail.tcprules" in task)
    variables = smtpd_vars(smtpd_submission_enabled=submission, smtpd_smtps_enabled=smtps)
    item = {"path": value(variables, "__smtpd_submission_tcprules_file")}
    assert item["path"] != value(variables, "__smtpd_tcprules_file")
    assert render(dict(variables, item=item), "{{ %s }}" % task["when"]) is written


@pytest.mark.parametrize("enabled, state", [(True, "present"), (False, "absent")])
def test_the_smtps_service_is_declared_or_removed(enabled, state):
    task = service_task("ansible.builtin.include_role")
    item = next(entry for entry in task["loop"] if entry["name"] == "qmail-smtpsd")
    assert item["conf_name"] == "conf-smtpsd"
    variables = smtpd_vars(smtpd_smtps_enabled=enabled)
    assert render(variables, item["state"]) == state
    if not enabled:
        # A disabled instance must not need AUTH settings or a flavour with SMTPS to be removed.
        assert value(Variables(variables, smtp_auth_smtpd=None, qmail_flavour="notqmail"), "__smtpd_smtps_auth") == {}


def test_smtps_refuses_to_start_without_the_tls_roles_certificate():
    check = tasks("check.yml")
    stat = next(task for task in check if "ansible.builtin.stat" in task)
    refusal = next(task for task in check if "ansible.builtin.assert" in task and "smtps" in task["when"])
    variables = smtpd_vars()
    assert render(variables, stat["ansible.builtin.stat"]["path"]) == "/var/qmail/control/servercert.pem"
    assert refusal["ansible.builtin.assert"]["that"] == "%s.stat.exists" % stat["register"]
    assert "mailops.qmail.tls" in refusal["ansible.builtin.assert"]["fail_msg"]


# --- stunnel in front of qmail-smtpd (smtpd_smtps_tls: stunnel, or a flavour with required AUTH but no SMTPS) ---

STUNNEL_CASES = {
    "sagredo-stunnel": dict(qmail_flavour="sagredo", smtpd_smtps_tls="stunnel"),
}
# A chain before qmail-smtpd, so the test sees stunnel run all of it and in order.
CHAIN = dict(smtpd_pre=["/usr/bin/fixcrio"], smtpd_rbl_servers=["zen.example.org"])
ENV_NAMES = ["SMTPS", "SMTPAUTH", "FORCETLS", "DISABLETLS"]


def stunnel_conf(variables):
    """stunnel-smtpsd.conf as service.yml's template task writes it, as {key: value}."""
    text = run(TEXT, TEXT.get_template("stunnel-smtpsd.conf.j2"),
               Variables(variables, ansible_managed="Ansible managed"))
    settings = {}
    for line in text.splitlines():
        if line and not line.startswith(";"):
            key, setting = line.split(" = ", 1)
            settings[key] = setting
    return text, settings


def smtps_item():
    task = service_task("ansible.builtin.include_role")
    return next(entry for entry in task["loop"] if entry["name"] == "qmail-smtpsd")


@pytest.mark.parametrize("case, expected", [
    # AUTH still required before MAIL; qmail-smtpd sees clear text, so AUTH without STARTTLS, and no STARTTLS.
    ("sagredo-stunnel", ["", "!", "0", "1"]),
])
def test_conf_smtpsd_behind_stunnel_has_no_smtps_and_tells_qmail_smtpd_what_it_needs(case, expected):
    variables = smtpd_vars(**STUNNEL_CASES[case])
    assert value(variables, "__smtpd_smtps_method") == "stunnel"
    text = conf(variables, "__smtpd_smtps")
    assert "SMTPS" not in text
    assert source(text, ENV_NAMES) == expected
    assert source(text, ["TCPSERVER_PORT", "TCPSERVER_RULES"]) == ["465", "/etc/tcp.submission.cdb"]


@pytest.mark.parametrize("case", sorted(STUNNEL_CASES))
def test_stunnel_runs_exactly_the_chain_conf_smtpsd_describes(case):
    variables = smtpd_vars(**dict(STUNNEL_CASES[case], **CHAIN))
    text, settings = stunnel_conf(variables)
    # What the run script would run without stunnel: its command, split by a real shell after sourcing conf-smtpsd.
    script = conf(variables, "__smtpd_smtps") + "\nset -- " + value(variables, "__smtpd_command") + '\nprintf "%s\\n" "$@"'
    expanded = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()
    assert expanded[:4] == ["/usr/bin/fixcrio", "rblsmtpd", "-r", "zen.example.org"]
    assert "/var/qmail/bin/qmail-smtpd" in expanded and expanded[-1] == "/bin/true"
    assert settings["execArgs"].split(" ") == expanded
    assert settings["exec"] == expanded[0]
    assert settings["cert"] == "/var/qmail/control/servercert.pem"
    assert settings["sslVersionMin"] == "TLSv1.2" and "accept" not in settings, "inetd mode: tcpserver accepts"
    assert "; Ansible managed" in text.splitlines(), "every line outside the settings is a stunnel comment"


@pytest.mark.parametrize("family, case, command", [
    ("Debian", "sagredo-stunnel", "/usr/bin/stunnel4 /var/qmail/control/stunnel-smtpsd.conf"),
    ("Gentoo", "sagredo-stunnel", "/usr/bin/stunnel /var/qmail/control/stunnel-smtpsd.conf"),
])
def test_tcpserver_hands_each_smtps_connection_to_stunnel(family, case, command):
    variables = smtpd_vars(family, **STUNNEL_CASES[case])
    assert render(variables, smtps_item()["command"]) == command


def test_native_smtps_keeps_qmail_smtpd_under_tcpserver():
    variables = smtpd_vars()
    assert value(variables, "__smtpd_smtps_method") == "native"
    assert render(variables, smtps_item()["command"]) == \
        "${QMAIL_SMTP_PRE} /var/qmail/bin/qmail-smtpd ${QMAIL_SMTP_POST}"
    assert source(conf(variables, "__smtpd_smtps"), ENV_NAMES) == ["1", "!", "1", ""]


def stunnel_tasks():
    """The install, template, report and removal tasks, by what they do."""
    service = tasks("service.yml")
    return {
        "install": next(t for t in tasks("install.yml") if "ansible.builtin.package" in t),
        "template": next(t for t in service if "ansible.builtin.template" in t),
        "report": next(t for t in service if "ansible.builtin.debug" in t),
        "remove": next(t for t in service if "ansible.builtin.file" in t),
    }


@pytest.mark.parametrize("overrides, present", [
    (dict(STUNNEL_CASES["sagredo-stunnel"]), True),
    ({}, False),  # native on sagredo
    (dict(STUNNEL_CASES["sagredo-stunnel"], smtpd_smtps_enabled=False), False),
    (dict(qmail_flavour="notqmail", smtp_auth_smtpd=None, smtpd_smtps_enabled=False), False),
])
def test_stunnel_is_installed_and_configured_only_in_stunnel_mode_and_its_settings_removed_otherwise(overrides, present):
    variables = smtpd_vars(**overrides)
    found = stunnel_tasks()
    for name in ("install", "template", "report"):
        assert render(variables, "{{ %s }}" % found[name]["when"]) is present, name
    assert render(variables, "{{ %s }}" % found["remove"]["when"]) is not present
    assert render(variables, found["remove"]["ansible.builtin.file"]["path"]) == \
        render(variables, found["template"]["ansible.builtin.template"]["dest"]) == "/var/qmail/control/stunnel-smtpsd.conf"


@pytest.mark.parametrize("family, packages", [("Debian", ["stunnel4"]), ("Gentoo", ["net-misc/stunnel"])])
def test_smtpd_installs_the_same_stunnel_as_pop3d(family, packages):
    pop3d = load("pop3d", "vars", family + ".yml")
    variables = smtpd_vars(family, **STUNNEL_CASES["sagredo-stunnel"])
    assert render(variables, stunnel_tasks()["install"]["ansible.builtin.package"]["name"]) == packages
    assert packages == pop3d["__pop3d_stunnel_packages"]
    assert value(variables, "__smtpd_stunnel_program") == pop3d["__pop3d_stunnel_program"]


def test_the_run_says_that_465_goes_through_stunnel():
    report = stunnel_tasks()["report"]
    variables = Variables(smtpd_vars(**STUNNEL_CASES["sagredo-stunnel"]), **report.get("vars", {}))
    message = render(variables, report["ansible.builtin.debug"]["msg"])
    assert message.startswith("Implicit-TLS submission (port 465) is served through stunnel in front of qmail-smtpd")
    assert "\n" not in message


FLAVOURS = ["gentoo", "jms", "notqmail", "sagredo"]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("tls", ["auto", "native", "stunnel"])
def test_the_role_and_the_preflight_agree_on_every_flavour_and_choice(flavour, tls):
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.mailops.qmail.plugins.plugin_utils import preflight
    settings = {"qmail_flavour": flavour, "smtpd_smtps_tls": tls, "smtpd_smtps_enabled": True,
                "smtp_auth_smtpd": PUBLISHED}
    refused = [p for p in preflight.smtpd_problems(preflight.Variables(settings.__getitem__), ["smtpd", "smtp_auth"])
               if "smtps" in p]
    try:
        method = value(smtpd_vars(**settings), "__smtpd_smtps_method")
    except AnsibleError as exc:
        assert refused and refused[0] in str(exc)
    else:
        assert refused == [] and method in ("native", "stunnel")
