# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the network service roles decide: relay rules, AUTH wiring per flavour, conf files, passwords."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import subprocess

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.qmail.plugins.filter import network

try:
    from passlib import hash as passlib_hash
except ImportError:
    passlib_hash = None

needs_passlib = pytest.mark.skipif(passlib_hash is None, reason="passlib is needed to hash cvm-pwfile passwords")

AUTH_CVM = {"command": ["/usr/bin/cvm-checkpassword", "/usr/bin/cvm-pwfile"],
            "env": {"CVM_PWFILE_PATH": "/etc/pw"}, "mechanisms": ["PLAIN", "LOGIN"], "force_tls": True}


# --- open relay ---------------------------------------------------------------------------------

def test_default_rules_relay_only_loopback_and_end_with_the_default():
    rules = network.relay_rules(["127."])
    assert rules[0] == {"match": "127.", "action": "allow", "env": {"RELAYCLIENT": ""},
                        "comment": "may relay without authentication"}
    assert rules[-1]["match"] == "" and "env" not in rules[-1]
    assert network.open_relay_problems(rules, rcpthosts=["example.com"]) == []


@pytest.mark.parametrize("match, count", [
    ("", "all"), ("0-255.", "all"), ("0.0.0.0/0", "all"), ("1-2.", "33554432"), ("10.0.0.0/7", "33554432"),
    ("0-128.", "2164260864"),
])
def test_relayclient_for_more_than_a_slash_8_is_an_open_relay(match, count):
    rules = network.relay_rules([match])
    problems = network.open_relay_problems(rules, rcpthosts=["example.com"])
    assert len(problems) == 1 and repr(match) in problems[0]
    assert "for %s addresses" % count in problems[0]


@pytest.mark.parametrize("match", ["10.", "10.0.0.0/8", "192.168.1.", "192.0.2.0/24", "127.", "192.0.2.7",
                                   "172.16-31.", "172.16.0.0/12", "192.0.2.128/25"])
def test_relayclient_for_own_networks_is_accepted(match):
    assert network.open_relay_problems(network.relay_rules([match]), rcpthosts=["example.com"]) == []


@pytest.mark.parametrize("match", ["=", "=.net", "=mail.example.com", "=.Example.COM"])
def test_relayclient_by_host_name_is_refused_because_the_client_sets_its_ptr_name(match):
    rules = [{"match": "10.", "env": {"RELAYCLIENT": ""}},
             {"match": match, "env": {"RELAYCLIENT": ""}, "comment": "partner"}]
    problems = network.open_relay_problems(rules, rcpthosts=["example.com"])
    assert len(problems) == 1
    assert repr(match) in problems[0] and "reverse DNS" in problems[0]


def test_host_name_rules_without_relayclient_are_no_relay_problem():
    rules = [{"match": "=.dyn.example.net", "env": {"RBLSMTPD": "dynamic"}},
             {"match": "=.net", "action": "deny", "env": {"RELAYCLIENT": ""}}]
    assert network.open_relay_problems(rules, rcpthosts=["example.com"]) == []


def test_a_null_action_is_checked_as_allow_like_the_tcprules_module_writes_it():
    rules = [{"match": "", "action": None, "env": {"RELAYCLIENT": ""}}]
    assert "for all addresses" in network.open_relay_problems(rules, rcpthosts=["example.com"])[0]


def test_a_deny_rule_with_relayclient_is_harmless():
    rules = [{"match": "", "action": "deny", "env": {"RELAYCLIENT": ""}}]
    assert network.open_relay_problems(rules, rcpthosts=["example.com"]) == []


@pytest.mark.parametrize("kwargs, needle", [
    ({"exports": {"RELAYCLIENT": ""}}, "RELAYCLIENT is exported"),
    ({"chains": {"smtpd_pre": ["env", "RELAYCLIENT=", "x"]}}, "smtpd_pre sets RELAYCLIENT"),
    ({"checkpassword": ["/bin/true"]}, "accepts every password"),
    ({"checkpassword": ["/usr/local/bin/true"]}, "accepts every password"),
])
def test_settings_that_open_the_relay_are_explained(kwargs, needle):
    problems = network.open_relay_problems(network.relay_rules(["127."]), rcpthosts=["example.com"], **kwargs)
    assert len(problems) == 1 and needle in problems[0]


@pytest.mark.parametrize("rcpthosts", [None, [], ["", "# comment"]])
def test_missing_or_empty_rcpthosts_is_an_open_relay(rcpthosts):
    problems = network.open_relay_problems(network.relay_rules(["127."]), rcpthosts=rcpthosts)
    assert len(problems) == 1 and "rcpthosts" in problems[0]


def test_rcpthosts_check_can_be_deferred_in_check_mode():
    assert network.open_relay_problems(network.relay_rules(["127."]), rcpthosts=None, rcpthosts_checked=False) == []


@pytest.mark.parametrize("match", ["1.2.3.4.5", "300.", "a.b.", "5-3.", "0.0.0.\u00b2", "0.0.0.\u0660",
                                   "10.\n", "10.0.0.1-\x005", "010.", "10.0.0.1/8", "0-255.0-255.0-255.0-255",
                                   None, 127.0])
def test_malformed_matches_are_errors(match):
    with pytest.raises(AnsibleFilterError, match="tcprules match") as info:
        network.open_relay_problems(network.relay_rules([match]))
    assert repr(match) in str(info.value) or "null" in str(info.value)


def test_qmqp_rules_allow_only_the_listed_clients():
    rules = network.restricted_rules(["10.0.0.5"], "qmtpd_qmqp_clients")
    assert [(r["match"], r["action"]) for r in rules] == [("10.0.0.5", "allow"), ("", "deny")]
    with pytest.raises(AnsibleFilterError, match="qmtpd_qmqp_clients is empty"):
        network.restricted_rules([], "qmtpd_qmqp_clients")


def test_extra_rules_need_a_match():
    with pytest.raises(AnsibleFilterError, match="'match'"):
        network.relay_rules(["127."], [{"action": "deny"}])


def test_rblsmtpd_words():
    assert network.rblsmtpd_words([]) == []
    assert network.rblsmtpd_words(["zen.spamhaus.org", "bl.example"]) == [
        "rblsmtpd", "-r", "zen.spamhaus.org", "-r", "bl.example"]


# --- SMTP AUTH per flavour ------------------------------------------------------------------------

def test_gentoo_puts_the_hostname_first_and_has_no_environment():
    auth = dict(AUTH_CVM, force_tls=False)
    result = network.smtpd_auth("gentoo", "mx.example.com", auth)
    assert result["post"] == ["mx.example.com", "/usr/bin/cvm-checkpassword", "/usr/bin/cvm-pwfile", "/bin/true"]
    assert result["env"] == {"CVM_PWFILE_PATH": "/etc/pw"}


def test_sagredo_has_no_hostname_and_sets_smtpauth_and_forcetls():
    result = network.smtpd_auth("sagredo", "mx.example.com", AUTH_CVM)
    assert result["post"] == ["/usr/bin/cvm-checkpassword", "/usr/bin/cvm-pwfile", "/bin/true"]
    assert result["env"] == {"CVM_PWFILE_PATH": "/etc/pw", "SMTPAUTH": "", "FORCETLS": "1"}


@pytest.mark.parametrize("mechanisms, required, value", [
    (["PLAIN", "LOGIN"], False, ""),
    (["PLAIN", "LOGIN", "CRAM-MD5"], False, "+cram"),
    (["CRAM-MD5"], False, "cram"),
    (["PLAIN", "LOGIN"], True, "!"),
    # Required AUTH keeps the mechanisms: "!cram" would offer CRAM-MD5 alone.
    (["PLAIN", "CRAM-MD5"], True, "!+cram"),
    (["PLAIN", "LOGIN", "CRAM-MD5"], True, "!+cram"),
    (["CRAM-MD5"], True, "!cram"),
])
def test_sagredo_smtpauth_values(mechanisms, required, value):
    auth = dict(AUTH_CVM, mechanisms=mechanisms, force_tls=False)
    result = network.smtpd_auth("sagredo", "mx", auth, required)
    assert result["env"]["SMTPAUTH"] == value and result["env"]["FORCETLS"] == "0"


def test_no_auth_means_no_arguments():
    assert network.smtpd_auth("notqmail", "mx", None) == {"post": [], "env": {}}


@pytest.mark.parametrize("flavour, auth, required, message", [
    ("notqmail", AUTH_CVM, False, "SMTP AUTH in qmail-smtpd"),
    ("gentoo", dict(AUTH_CVM, force_tls=False), True, "SMTPAUTH/FORCETLS"),
    ("gentoo", AUTH_CVM, False, "force_tls"),
    ("jms", dict(AUTH_CVM, force_tls=False, mechanisms=["CRAM-MD5"]), False, "offers only PLAIN, LOGIN"),
    ("sagredo", None, True, "apply the mailops.qmail.smtp_auth role"),
    ("sagredo", dict(AUTH_CVM, command=["/usr/bin/my checker"]), False, "cannot be a word"),
])
def test_auth_settings_a_flavour_cannot_honour_are_errors(flavour, auth, required, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.smtpd_auth(flavour, "mx", auth, required, "smtpd_submission_enabled")


# --- implicit TLS (465): native or stunnel ------------------------------------------------------

@pytest.mark.parametrize("tls, method", [("auto", "native"), ("native", "native"), ("stunnel", "stunnel")])
def test_smtps_method_is_native_unless_stunnel_is_asked_for(tls, method):
    assert network.smtps_method("sagredo", tls) == method


@pytest.mark.parametrize("flavour, tls, message", [
    ("notqmail", "auto", r"smtpd_smtps_enabled: implicit-TLS submission requires SMTP AUTH before MAIL.*'notqmail'"
                         r".*cannot require it.*\(sagredo\)"),
    ("notqmail", "stunnel", "stunnel adds the TLS, not the AUTH"),
    # gentoo and jms offer AUTH but cannot refuse MAIL without it, as for submission on 587.
    ("gentoo", "auto", r"'gentoo' flavour's qmail-smtpd cannot require it"),
    ("gentoo", "stunnel", "stunnel adds the TLS, not the AUTH"),
    ("jms", "stunnel", r"'jms' flavour's qmail-smtpd cannot require it"),
    ("sagredo", "sslserver", r"smtpd_smtps_tls='sslserver': choose one of auto, native, stunnel"),
    ("sagredo", None, r"smtpd_smtps_tls=None"),
    ("vanilla", "auto", "unknown qmail flavour 'vanilla'"),
])
def test_smtps_method_refusals_name_the_variable_and_the_reason(flavour, tls, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.smtps_method(flavour, tls)


@pytest.mark.parametrize("flavour", sorted(network.FLAVOURS))
def test_smtps_is_served_exactly_where_submission_can_require_auth(flavour):
    """465 and 587 are the same service (RFC 8314): the flavours that may have one may have the other."""
    try:
        network.smtpd_auth(flavour, "mx", dict(AUTH_CVM, force_tls=False), True, "smtpd_submission_enabled")
        submission = True
    except AnsibleFilterError:
        submission = False
    try:
        network.smtps_method(flavour, "stunnel")
        smtps = True
    except AnsibleFilterError:
        smtps = False
    assert smtps == submission


def test_native_smtps_is_submission_with_tls_before_the_greeting():
    submission = network.smtpd_auth("sagredo", "mx", AUTH_CVM, True)
    smtps = network.smtps_auth("sagredo", "mx", AUTH_CVM, "native")
    assert smtps["post"] == submission["post"]
    assert smtps["env"] == dict(submission["env"], SMTPS="1")
    assert (smtps["env"]["SMTPAUTH"], smtps["env"]["FORCETLS"]) == ("!", "1")


@pytest.mark.parametrize("force_tls", [True, False])
def test_sagredo_behind_stunnel_requires_auth_without_starttls(force_tls):
    smtps = network.smtps_auth("sagredo", "mx", dict(AUTH_CVM, force_tls=force_tls), "stunnel")
    # qmail-smtpd sees clear text: FORCETLS=1 would answer AUTH 538 until a STARTTLS inside the TLS.
    assert smtps["env"]["FORCETLS"] == "0" and smtps["env"]["DISABLETLS"] == "1"
    assert smtps["env"]["SMTPAUTH"] == "!" and "SMTPS" not in smtps["env"]
    assert smtps["post"] == AUTH_CVM["command"] + ["/bin/true"]


@pytest.mark.parametrize("method", ["native", "stunnel"])
def test_smtps_without_a_password_checker_is_refused_whatever_the_method(method):
    with pytest.raises(AnsibleFilterError, match="smtpd_smtps_enabled requires SMTP AUTH.*smtp_auth role"):
        network.smtps_auth("sagredo", "mx", None, method)


def test_smtps_auth_refuses_a_method_smtps_method_never_returns():
    with pytest.raises(AnsibleFilterError, match="unknown implicit-TLS method 'auto'"):
        network.smtps_auth("sagredo", "mx", AUTH_CVM, "auto")


# --- conf files ---------------------------------------------------------------------------------

def test_shell_assignments_quote_every_value():
    text = network.shell_assignments({"A": "x y", "B": "it's", "C": "", "D": None, "E": True})
    assert text == "A='x y'\nB='it'\\''s'\nC=''\nE='1'\n"
    assert network.shell_assignments({"X": "1"}, export=True) == "export X='1'\n"


def test_shell_assignments_survive_a_real_shell():
    text = network.shell_assignments({"A": "x y", "B": "it's $HOME `id`", "C": ""}, export=True)
    out = subprocess.run(["sh", "-c", text + 'printf "%s|%s|%s" "$A" "$B" "$C"'],
                         capture_output=True, text=True, check=True).stdout
    assert out == "x y|it's $HOME `id`|"


@pytest.mark.parametrize("values, message", [
    ({"1A": "x"}, "not a valid environment variable name"),
    ({"A": "two\nlines"}, "newline"),
])
def test_shell_assignments_refuse_bad_input(values, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.shell_assignments(values)


@pytest.mark.parametrize("word", ["a b", "'x'", "$(id)", "a;b", ""])
def test_program_chain_words_refuse_what_the_shell_would_mangle(word):
    with pytest.raises(AnsibleFilterError, match="smtpd_pre"):
        network.shell_words(["ok", word], "smtpd_pre")


def test_program_chain_words_join():
    assert network.shell_words(["/usr/bin/envdir", "/etc/relay-ctrl", "relay-ctrl-check"], "f") == \
        "/usr/bin/envdir /etc/relay-ctrl relay-ctrl-check"
    assert network.shell_words([], "f") == ""


@pytest.mark.parametrize("flavour, rejectrelaytest", [("sagredo", 1), ("gentoo", "absent"), ("notqmail", "absent")])
def test_relay_reject_uses_the_flavours_means_and_localiphost_everywhere(flavour, rejectrelaytest):
    files = network.smtpd_control_files(flavour, {}, None, True)
    assert files["localiphost"] == "localiphost.invalid"
    assert files.get("rejectrelaytest", "absent") == rejectrelaytest
    off = network.smtpd_control_files(flavour, {}, None, False)
    assert off["localiphost"] is None and off.get("rejectrelaytest") is None


def test_control_files_map_empty_lists_to_absent_and_check_the_flavour():
    files = network.smtpd_control_files("sagredo", {"badmailfrom": [], "badrcptto": ["a@b"], "badmailto": []}, 1000)
    # sagredo has no badmailto: an empty list leaves that file alone.
    assert files == {"databytes": 1000, "badmailfrom": None, "badrcptto": ["a@b"],
                     "localiphost": None, "rejectrelaytest": None}
    # notqmail has no badrcptto: an empty list leaves the unknown file alone, a non-empty one is an error.
    assert "badrcptto" not in network.smtpd_control_files("notqmail", {"badrcptto": []})
    with pytest.raises(AnsibleFilterError, match="smtpd_badrcptto"):
        network.smtpd_control_files("notqmail", {"badrcptto": ["a@b"]})


# --- TLS ----------------------------------------------------------------------------------------

def test_tls_parameter_files_never_below_2048_bits():
    files = network.tls_param_files("gentoo")
    assert [f["name"] for f in files] == ["rsa512.pem", "dh512.pem", "dh1024.pem"]
    assert all(f["size"] >= 2048 for f in files)
    assert all(f["size"] == 4096 for f in network.tls_param_files("gentoo", 4096))
    assert network.tls_param_files("sagredo") == []


def test_tls_for_a_flavour_without_it_is_an_error():
    with pytest.raises(AnsibleFilterError, match="STARTTLS in qmail-smtpd.*notqmail"):
        network.tls_param_files("notqmail")


def test_tls_remote_files():
    pem = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----"
    assert network.tls_remote_files("sagredo", ["old.example"], {"mx.example": pem}) == [
        {"path": "notlshosts/old.example", "content": ""},
        {"path": "tlshosts/mx.example.pem", "content": pem + "\n"}]
    assert network.tls_remote_files("notqmail", [], {}) == []
    with pytest.raises(AnsibleFilterError, match="TLS in qmail-remote"):
        network.tls_remote_files("notqmail", ["a.example"], {})
    with pytest.raises(AnsibleFilterError, match="not a host name"):
        network.tls_remote_files("sagredo", ["../etc"], {})
    with pytest.raises(AnsibleFilterError, match="PEM"):
        network.tls_remote_files("sagredo", [], {"a.example": "junk"})


@pytest.mark.parametrize("notls, verify, message", [
    (["../etc"], {}, "tls_remote_notls_hosts: '../etc' is not a host name"),
    (["a..example"], {}, "tls_remote_notls_hosts: 'a..example' is not a host name"),
    (["mx.example."], {}, "tls_remote_notls_hosts: 'mx.example.' ends with a dot"),
    ([], {"-mx.example": "x"}, "tls_remote_verify_hosts: '-mx.example' is not a host name"),
])
def test_tls_remote_hosts_are_file_names_qmail_remote_looks_up(notls, verify, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        network.tls_remote_files("sagredo", notls, verify)


# --- password files -------------------------------------------------------------------------------

ACCOUNTS = [{"name": "alice@example.com", "password": "s3cret"}, {"name": "bob", "password": "pw2"},
            {"name": "gone", "state": "absent"}]


@needs_passlib
def test_pwfile_hashes_with_sha512_crypt_and_uses_qmaild_ids():
    text = network.pwfile(ACCOUNTS, "", 201, 200, "/var/qmail")
    lines = text.splitlines()
    assert len(lines) == 2 and "s3cret" not in text
    name, hashed, uid, gid, realname, home, shell = lines[0].split(":")
    assert (name, uid, gid, realname, home, shell) == ("alice@example.com", "201", "200", "", "/var/qmail", "/bin/false")
    assert passlib_hash.sha512_crypt.verify("s3cret", hashed)


@needs_passlib
def test_pwfile_keeps_matching_hashes_and_rehashes_changed_passwords():
    first = network.pwfile(ACCOUNTS, "", 201, 200, "/var/qmail")
    assert network.pwfile(ACCOUNTS, first, 201, 200, "/var/qmail") == first
    changed = network.pwfile([dict(ACCOUNTS[0], password="new"), ACCOUNTS[1]], first, 201, 200, "/var/qmail")
    assert changed.splitlines()[1] == first.splitlines()[1]
    assert passlib_hash.sha512_crypt.verify("new", changed.splitlines()[0].split(":")[1])


@needs_passlib
@pytest.mark.parametrize("accounts, message", [
    ([{"password": "x"}], "needs a 'name'"),
    ([{"name": "a:b", "password": "x"}], "may not contain"),
    ([{"name": "a", "password": "x"}, {"name": "a", "password": "y"}], "listed twice"),
    ([{"name": "a"}], "needs a one-line 'password'"),
])
def test_account_errors_name_the_account(accounts, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.pwfile(accounts)


def test_poppasswd_keeps_clear_text_for_cram_md5():
    text = network.poppasswd([{"name": "bob", "password": "pw", "system_user": "alias", "home": "/var/qmail/alias"}])
    assert text == "bob:pw:alias:/var/qmail/alias\n"
    with pytest.raises(AnsibleFilterError, match="may not contain ':'"):
        network.poppasswd([{"name": "bob", "password": "a:b"}])


def test_filters_are_registered():
    names = network.FilterModule().filters()
    assert set(names) >= {"qmail_relay_rules", "qmail_open_relay_problems", "qmail_smtpd_auth", "qmail_pwfile"}


# --- ports --------------------------------------------------------------------------------------

def test_ports_accept_distinct_valid_ports():
    assert network.ports({"pop3d_port": 110, "pop3d_tls_port": "995"}) is True


@pytest.mark.parametrize("fields, message", [
    ({"smtpd_port": 0}, "smtpd_port: 0 is not a port number"),
    ({"smtpd_port": 65536}, "smtpd_port: 65536 is not a port number"),
    ({"smtpd_port": "25a"}, "smtpd_port: '25a' is not a port number"),
    ({"smtpd_port": True}, "smtpd_port: True is not a port number"),
    ({"pop3d_port": 110, "pop3d_tls_port": 110}, "pop3d_tls_port: port 110 is already pop3d_port"),
])
def test_ports_name_the_field_that_is_wrong(fields, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.ports(fields)


# --- POP3 accounts (cvm-pwfile) ------------------------------------------------------------------

PASSWD = {"alice": ["x", "1000", "1000", "Alice", "/home/alice", "/bin/sh"]}


@needs_passlib
def test_mailbox_pwfile_carries_the_system_users_ids_and_home():
    text = network.mailbox_pwfile([{"name": "alice@example.org", "password": "s3cret", "system_user": "alice"},
                                   {"name": "old", "password": "x", "system_user": "alice", "state": "absent"}],
                                  "", PASSWD)
    name, hashed, uid, gid, _gecos, home, _shell = text.rstrip("\n").split(":")
    assert (name, uid, gid, home) == ("alice@example.org", "1000", "1000", "/home/alice")
    assert passlib_hash.sha512_crypt.verify("s3cret", hashed)
    assert "old" not in text
    again = network.mailbox_pwfile([{"name": "alice@example.org", "password": "s3cret", "system_user": "alice"}],
                                   text, PASSWD)
    assert again == text, "an unchanged account keeps its hash, so a rerun changes nothing"


@needs_passlib
@pytest.mark.parametrize("account, message", [
    ({"name": "a", "password": "x"}, r"pop3d_accounts\[0\] \(a\) needs a 'system_user'"),
    ({"name": "a", "password": "x", "system_user": "nobody-here"}, r"system_user 'nobody-here' is not an account"),
    ({"name": "a", "system_user": "alice"}, "needs a one-line 'password'"),
])
def test_mailbox_pwfile_errors_name_the_field(account, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.mailbox_pwfile([account], "", PASSWD)


@needs_passlib
def test_mailbox_pwfile_in_check_mode_tolerates_a_user_not_created_yet():
    text = network.mailbox_pwfile([{"name": "a", "password": "x", "system_user": "later"}], "", PASSWD, strict=False)
    assert text.startswith("a:$6$")
