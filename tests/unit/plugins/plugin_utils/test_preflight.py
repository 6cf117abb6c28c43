# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which settings the preflight refuses, judged on the variables alone, each naming its variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.mailops.qmail.plugins.plugin_utils import preflight

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles")
SITE_ROLES = ["mta_swap", "send", "tls", "smtp_auth", "relay_ctrl", "smtpd", "pop3d", "qmtpd"]


def role_defaults():
    """The roles' defaults, with the templated ones given the values a Debian host would get."""
    merged = {}
    for role in preflight.with_dependencies(SITE_ROLES):
        path = os.path.join(ROLES_DIR, role, "defaults", "main.yml")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                merged.update(yaml.safe_load(handle) or {})
    merged.update(qmail_me="mx.example.org", qmail_flavour="sagredo", send_maildir_name="Maildir",
                  send_control_defaults={"me": "mx.example.org", "locals": ["mx.example.org"],
                                         "rcpthosts": ["mx.example.org"]},
                  smtp_auth_accounts=[{"name": "alice", "password": "secret"}])
    return merged


def judge(roles=None, **overrides):
    values = role_defaults()
    values.update(overrides)

    def lookup(name):
        return values[name]
    return preflight.problems(preflight.Variables(lookup), roles or SITE_ROLES)


def test_the_defaults_with_accounts_are_accepted():
    assert judge() == []


@pytest.mark.parametrize("overrides, variable", [
    ({"send_admin_address": "admin@example.org\n|/bin/touch /tmp/x"}, "send_admin_address"),
    ({"send_admin_address": "|/bin/touch /tmp/x"}, "send_admin_address"),
    ({"send_maildir_name": "../Maildir"}, "send_maildir_name"),
    ({"send_delivery": "custom", "send_delivery_custom": ["./Maildir/\n|sh"]}, "send_delivery_custom[0]"),
    ({"send_delivery": "custom", "send_delivery_custom": ["# only a comment"]}, "send_delivery_custom"),
    ({"send_control_files": {"rcpthosts": None}}, "rcpthosts is null"),
    ({"send_control_files": {"rcpthosts": []}}, "rcpthosts is empty"),
    ({"smtpd_relay_clients": [""]}, "RELAYCLIENT"),
    ({"smtpd_env": {"RELAYCLIENT": ""}}, "RELAYCLIENT is exported"),
    ({"smtpd_pre": ["env", "RELAYCLIENT="]}, "smtpd_pre"),
    ({"smtp_auth_accounts": []}, "smtp_auth_accounts is empty"),
    ({"smtp_auth_accounts": [{"name": "a", "password": "b", "state": "absent"}]}, "smtp_auth_accounts is empty"),
    ({"smtp_auth_backend": "program", "smtp_auth_program": ["/bin/true"]}, "accepts every password"),
    ({"smtp_auth_backend": "program", "smtp_auth_program": []}, "smtp_auth_program is empty"),
    ({"pop3d_port": 25}, "pop3d_port: port 25 is already smtpd_port"),
    ({"pop3d_tls_enabled": True, "pop3d_tls_port": 587, "smtpd_submission_enabled": True}, "587"),
    ({"qmtpd_qmtp_enabled": True, "qmtpd_qmtp_port": 110}, "qmtpd_qmtp_port"),
    ({"smtpd_port": "inf"}, "smtpd_port"),
    ({"smtpd_submission_enabled": "maybe"}, "smtpd_submission_enabled"),
    ({"smtpd_smtps_enabled": "maybe"}, "smtpd_smtps_enabled"),
    ({"smtpd_smtps_enabled": True, "smtpd_smtps_port": 25}, "smtpd_smtps_port: port 25 is already smtpd_port"),
    ({"smtpd_smtps_enabled": True, "smtpd_submission_enabled": True, "smtpd_submission_port": 465},
     "smtpd_smtps_port: port 465 is already smtpd_submission_port"),
    ({"smtpd_smtps_enabled": True, "pop3d_tls_enabled": True, "pop3d_tls_port": 465},
     "pop3d_tls_port: port 465 is already smtpd_smtps_port"),
    ({"smtpd_smtps_enabled": True, "smtpd_smtps_port": 0}, "smtpd_smtps_port"),
    ({"smtpd_smtps_enabled": True, "qmail_flavour": "notqmail"}, "smtpd_smtps_enabled: implicit-TLS submission requires"),
    ({"smtpd_smtps_enabled": True, "qmail_flavour": "gentoo", "smtpd_smtps_tls": "stunnel"},
     "'gentoo' flavour's qmail-smtpd cannot require it"),
    ({"smtpd_smtps_enabled": True, "smtpd_smtps_tls": "sslserver"}, "smtpd_smtps_tls='sslserver'"),
    ({"smtpd_smtps_enabled": True, "smtpd_relay_clients": ["0.0.0.0/0"]}, "implicit-TLS submission (port 465)"),
    ({"mta_swap_require_qmail": "perhaps"}, "mta_swap_require_qmail"),
    ({"send_control_files": {"databytes": 1000}}, "send_control_files.databytes: control/databytes is written by role smtpd"),
    ({"send_control_files": {"concurrencyincoming": 5}}, "tcpserver_max_connections"),
    ({"qmail_me": "mx example.org"}, "qmail_me"),
    ({"tls_provider": "acme", "tls_acme_terms_agreed": True, "tls_acme_email": "hostmaster@example.org",
      "tls_acme_directory": "http://acme.example.org/dir"}, "tls_acme_directory"),
    ({"smtpd_tcprules_rules": [{"match": "192.0.2.1", "env": {"BAD NAME": "x"}}]}, "smtpd_tcprules_rules[0].env"),
    ({"smtpd_tcprules_rules": [{"match": "0.0.0.\u00b2"}]}, "smtpd_tcprules_rules[0].match"),
    ({"smtpd_relay_clients": ["10.0.0.300"]}, "smtpd_relay_clients[0]"),
    ({"pop3d_tcprules_rules": [{"match": "x", "action": "maybe"}]}, "pop3d_tcprules_rules[0]"),
    ({"qmtpd_qmqp_clients": ["=mx\nexample"]}, "qmtpd_qmqp_clients[0]"),
    ({"smtpd_databytes": "1_000"}, "smtpd_databytes: '1_000' is not a plain decimal number"),
    ({"smtpd_databytes": -1}, "smtpd_databytes"),
    ({"smtpd_badmailfrom": ["#spammer@example.com"]}, "smtpd_badmailfrom[0]"),
    ({"send_control_files": {"queuelifetime": "+5"}}, "send_control_files.queuelifetime"),
    ({"tcpserver_max_connections": "20 "}, "tcpserver_max_connections"),
    ({"pop3d_host": "pop\nhost"}, "pop3d_host"),
])
def test_refused_settings_name_their_variable(overrides, variable):
    problems = judge(**overrides)
    assert problems, overrides
    assert any(variable in problem for problem in problems), problems


def test_string_booleans_count_as_ansible_reads_them():
    # -e pop3d_tls_enabled=false passes the string "false": it must not switch POP3S on.
    assert judge(pop3d_tls_enabled="false", pop3d_tls_port=25) == []
    assert judge(pop3d_tls_enabled="true", pop3d_tls_port=25) != []


def test_rcpthosts_is_judged_only_when_smtpd_runs():
    assert judge(roles=["send"], send_control_files={"rcpthosts": None}) == []


def test_morercpthosts_alone_is_enough():
    assert judge(send_control_files={"rcpthosts": [], "morercpthosts": ["example.org"]}) == []


def test_ports_of_roles_not_applied_do_not_clash():
    assert judge(roles=["send", "smtp_auth", "smtpd"], pop3d_port=25) == []


def test_submission_without_smtp_auth_is_refused():
    problems = judge(roles=["send", "smtpd"], smtpd_submission_enabled=True)
    assert any("smtpd_submission_enabled" in problem for problem in problems)
    published = {"command": ["cvm-checkpassword"], "env": {}, "mechanisms": ["PLAIN"]}
    assert judge(roles=["send", "smtpd"], smtpd_submission_enabled=True, smtp_auth_smtpd=published) == []


def test_smtps_without_smtp_auth_is_refused():
    problems = judge(roles=["send", "smtpd"], smtpd_smtps_enabled=True)
    assert any(problem.startswith("smtpd_smtps_enabled: the implicit-TLS submission service requires SMTP AUTH")
               for problem in problems), problems
    published = {"command": ["cvm-checkpassword"], "env": {}, "mechanisms": ["PLAIN"]}
    assert judge(roles=["send", "smtpd"], smtpd_smtps_enabled=True, smtp_auth_smtpd=published) == []


def test_smtps_port_is_judged_only_when_smtps_runs():
    assert judge(smtpd_smtps_port=25) == []
    assert judge(smtpd_smtps_enabled=True) == []


@pytest.mark.parametrize("tls", ["auto", "native", "stunnel"])
def test_smtps_is_accepted_where_auth_can_be_required(tls):
    assert judge(smtpd_smtps_enabled=True, qmail_flavour="sagredo", smtpd_smtps_tls=tls) == []


def test_a_smtps_method_on_a_flavour_without_smtps_is_not_judged_while_smtps_is_off():
    assert judge(qmail_flavour="gentoo", smtpd_smtps_tls="native") == []


def test_a_published_checker_that_accepts_everything_is_refused():
    published = {"command": ["/bin/true"], "env": {}, "mechanisms": ["PLAIN"]}
    problems = judge(roles=["send", "smtpd"], smtp_auth_smtpd=published)
    assert any("accepts every password" in problem for problem in problems)


def test_every_problem_is_reported_at_once():
    problems = judge(send_admin_address="|x", pop3d_port=25, smtp_auth_accounts=[])
    assert len(problems) == 3


def test_dependencies_come_first_and_once():
    assert preflight.with_dependencies(["smtpd", "pop3d"]) == ["qmail", "daemontools", "tcpserver", "smtpd", "pop3d"]


def test_false_values_of_a_flag_are_accepted():
    assert judge(mta_swap_require_qmail=False) == []
    assert judge(mta_swap_require_qmail="false") == []


def test_a_file_of_a_role_not_applied_may_be_set_by_send():
    assert judge(roles=["send"], send_control_files={"databytes": 1000}) == []


def test_a_play_that_applies_a_reader_before_its_publisher_is_refused():
    assert preflight.order_problems(["send", "smtpd", "smtp_auth"]) == [
        "the play applies mailops.qmail.smtpd before mailops.qmail.smtp_auth, which it needs: list smtp_auth first"]
    assert preflight.order_problems(["tls", "smtp_auth", "relay_ctrl", "smtpd", "pop3d"]) == []
    assert len(preflight.order_problems(["pop3d", "smtpd", "tls"])) == 2


def test_an_international_or_too_long_name_gets_a_useful_message():
    [problem] = judge(qmail_me="mail.bücher.example")
    assert "qmail_me" in problem and "mail.xn--bcher-kva.example" in problem
    [problem] = judge(qmail_me="a" * 64 + ".example")
    assert "qmail_me" in problem and "too long" in problem


@pytest.mark.parametrize("overrides, expected", [
    # A relay client opens smtp and submission alike: one message, naming the entry and both.
    ({"smtpd_relay_clients": ["=.net"], "smtpd_submission_enabled": True},
     ["smtpd_relay_clients[0], for smtp (port 25) and submission (port 587)"]),
    ({"smtpd_relay_clients": ["127.", "0.0.0.0/0"]}, ["smtpd_relay_clients[1], for smtp (port 25)"]),
    ({"smtpd_tcprules_rules": [{"match": "=.net", "env": {"RELAYCLIENT": ""}}], "smtpd_submission_enabled": True},
     ["smtpd_tcprules_rules[0], for smtp (port 25)"]),
    # A malformed entry is reported as malformed, not also as a relay problem.
    ({"smtpd_relay_clients": ["10.0.0.300"], "smtpd_submission_enabled": True}, ["smtpd_relay_clients[0]"]),
])
def test_each_relay_problem_is_reported_once_naming_its_entry_and_services(overrides, expected):
    problems = [p for p in judge(**overrides) if "smtpd_relay_clients" in p or "smtpd_tcprules_rules" in p]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), problems
