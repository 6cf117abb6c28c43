# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role imapd: Dovecot's two files as the role renders them for Debian and Gentoo (the grammar of
its variables is judged by the preflight: test_imapd_preflight.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position

AUTH = "etc/dovecot/conf.d/00-mailops-qmail-auth.conf.j2"
MAIN = "etc/dovecot/conf.d/99-mailops-qmail.conf.j2"


def imapd_vars(family, **extra):
    """The variables the role's templates see, with the owning roles' defaults as tasks/main.yml loads them."""
    shared = {
        "__imapd_send_defaults": r.load(os.path.join(r.ROLES, "send", "vars", family + ".yml")),
        "__imapd_tls_defaults": r.load(os.path.join(r.ROLES, "tls", "defaults", "main.yml")),
        "__imapd_pop3d_defaults": r.load(os.path.join(r.ROLES, "pop3d", "defaults", "main.yml")),
    }
    shared.update(extra)
    return r.role_vars("imapd", family, **shared)


def settings(text):
    """Top-level `name = value` lines of a Dovecot file (sections are left out)."""
    found, depth = {}, 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("{"):
            depth += 1
        elif stripped == "}":
            depth -= 1
        elif depth == 0 and " = " in stripped and not stripped.startswith("#"):
            name, value = stripped.split(" = ", 1)
            assert name not in found, "%s set twice" % name
            found[name] = value
    return found


def section(text, header):
    """The lines of the section opened by `header {` (nested sections included)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == header + " {")
    depth, body = 0, []
    for line in lines[start:]:
        depth += line.count("{") - line.count("}")
        body.append(line.strip())
        if depth == 0:
            return body
    raise AssertionError("section %s is not closed" % header)


def test_argument_specs_are_the_single_source_of_the_defaults():
    defaults = r.load(os.path.join(r.ROLES, "imapd", "defaults", "main.yml"))
    options = r.load(os.path.join(r.ROLES, "imapd", "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
        assert name.startswith("imapd_") and spec.get("description"), name


def test_debian_and_gentoo_vars_define_the_same_internal_names():
    debian = r.load(os.path.join(r.ROLES, "imapd", "vars", "Debian.yml"))
    gentoo = r.load(os.path.join(r.ROLES, "imapd", "vars", "Gentoo.yml"))
    assert set(debian) == set(gentoo)
    assert all(name.startswith("__imapd_") for name in debian)


@pytest.mark.parametrize("family, maildir", [("Debian", "Maildir"), ("Gentoo", ".maildir")])
def test_the_maildir_follows_the_send_roles_default_delivery(family, maildir):
    text = r.render_template("imapd", MAIN, imapd_vars(family))
    assert settings(text)["mail_location"] == "maildir:~/" + maildir
    # The same name qmail's default delivery line uses, ./<name>/.
    send = r.role_vars("send", family, dependencies=["qmail", "daemontools"])
    assert r.value(send, "__send_defaultdelivery_lines") == ["./%s/" % maildir]


@pytest.mark.parametrize("given, location", [
    ("./Maildir/", "maildir:~/Maildir"),
    ("mail/inbox", "maildir:~/mail/inbox"),
    ("..maildir", "maildir:~/..maildir"),
])
def test_an_explicit_maildir_wins_over_send_maildir_name(given, location):
    text = r.render_template("imapd", MAIN, imapd_vars("Debian", imapd_maildir=given, send_maildir_name="Other"))
    assert settings(text)["mail_location"] == location


def test_send_maildir_name_set_in_the_play_is_followed():
    text = r.render_template("imapd", MAIN, imapd_vars("Debian", send_maildir_name="Mail.d"))
    assert settings(text)["mail_location"] == "maildir:~/Mail.d"


@pytest.mark.parametrize("family", ["Debian", "Gentoo"])
def test_tls_is_required_with_the_tls_roles_certificate_read_in_place(family):
    text = r.render_template("imapd", MAIN, imapd_vars(family))
    found = settings(text)
    assert found["ssl"] == "required"
    assert found["disable_plaintext_auth"] == "yes"
    assert found["ssl_cert"] == "</etc/ssl/qmail/server.crt"
    assert found["ssl_key"] == "</etc/ssl/qmail/server.key"
    assert found["protocols"] == "imap"
    assert found["auth_mechanisms"] == "plain login"


def test_certificate_follows_tls_dir_and_tls_files_and_the_roles_own_settings():
    assert settings(r.render_template("imapd", MAIN, imapd_vars("Debian", tls_dir="/etc/tls")))["ssl_key"] == "</etc/tls/server.key"
    provided = imapd_vars("Debian", tls_cert_file="/etc/le/fullchain.pem", tls_key_file="/etc/le/privkey.pem")
    assert settings(r.render_template("imapd", MAIN, provided))["ssl_cert"] == "</etc/le/fullchain.pem"
    own = imapd_vars("Debian", imapd_certificate="/etc/imap.crt", imapd_key="/etc/imap.key", tls_cert_file="/x")
    found = settings(r.render_template("imapd", MAIN, own))
    assert (found["ssl_cert"], found["ssl_key"]) == ("</etc/imap.crt", "</etc/imap.key")


@pytest.mark.parametrize("enabled, port, imaps", [(True, 993, "993"), (False, 993, "0"), (True, 10993, "10993")])
def test_listener_ports(enabled, port, imaps):
    text = r.render_template("imapd", MAIN, imapd_vars("Gentoo", imapd_port=1143, imapd_tls_port=port,
                                                       imapd_imaps_enabled=enabled))
    listeners = section(text, "service imap-login")
    imap = listeners[listeners.index("inet_listener imap {") + 1]
    secure = listeners[listeners.index("inet_listener imaps {"):]
    assert imap == "port = 1143"
    assert secure[1] == "port = " + imaps and "ssl = yes" in secure


def test_extra_settings_come_after_and_first_valid_uid_is_a_default():
    text = r.render_template("imapd", MAIN, imapd_vars("Debian", imapd_extra_settings={
        "mail_debug": True, "first_valid_uid": 2000, "login_greeting": "Mail ready"}))
    found = settings(text)
    assert found["mail_debug"] == "yes"
    assert found["first_valid_uid"] == "2000"
    assert found["login_greeting"] == "Mail ready"
    assert settings(r.render_template("imapd", MAIN, imapd_vars("Debian")))["first_valid_uid"] == "1000"


def test_listen_addresses():
    text = r.render_template("imapd", MAIN, imapd_vars("Debian", imapd_listen=["192.0.2.1", "2001:db8::1"]))
    assert settings(text)["listen"] == "192.0.2.1, 2001:db8::1"


@pytest.mark.parametrize("family", ["Debian", "Gentoo"])
@pytest.mark.parametrize("auth, pop3d, backend", [
    ("auto", {}, "system"),
    ("auto", {"pop3d_checkpassword": "cvm-unix"}, "system"),
    ("auto", {"pop3d_checkpassword": "checkpassword"}, "system"),
    ("auto", {"pop3d_checkpassword": "cvm-pwfile"}, "pwfile"),
    ("system", {"pop3d_checkpassword": "cvm-pwfile"}, "system"),
    ("pwfile", {}, "pwfile"),
])
def test_the_passdb_follows_pop3d(family, auth, pop3d, backend):
    text = r.render_template("imapd", AUTH, imapd_vars(family, imapd_auth=auth, **pop3d))
    passdb, userdb = section(text, "passdb"), section(text, "userdb")
    # Whatever the source, a refused or unknown login ends here: the packaged passdbs after it
    # (Debian's 10-auth.conf includes PAM) never get a second try.
    assert "result_failure = return-fail" in passdb and "result_internalfail = return-fail" in passdb
    assert "result_failure = return-fail" in userdb
    if backend == "pwfile":
        assert "driver = passwd-file" in passdb and "args = scheme=CRYPT /etc/pop3d.passwd" in passdb
        assert "driver = passwd-file" in userdb and "args = /etc/pop3d.passwd" in userdb
        assert section(text, "service auth") == ["service auth {", "user = root", "}"]
    else:
        assert "driver = pam" in passdb and "driver = passwd" in userdb
        assert "service auth {" not in text


def test_pwfile_follows_pop3d_cvm_pwfile_path():
    text = r.render_template("imapd", AUTH, imapd_vars("Debian", imapd_auth="pwfile", pop3d_cvm_pwfile_path="/etc/mail.passwd"))
    assert "args = scheme=CRYPT /etc/mail.passwd" in section(text, "passdb")


def test_the_auth_file_is_read_before_the_packaged_auth_and_the_settings_last():
    variables = imapd_vars("Debian")
    auth, main = r.value(variables, "__imapd_auth_conf"), r.value(variables, "__imapd_conf")
    assert os.path.dirname(auth) == os.path.dirname(main) == "/etc/dovecot/conf.d"
    assert sorted([os.path.basename(auth), "10-auth.conf", "10-ssl.conf", "10-mail.conf", os.path.basename(main),
                   "90-quota.conf"])[0] == os.path.basename(auth)
    assert sorted(["10-auth.conf", "90-quota.conf", "90-plugin.conf", os.path.basename(main)])[-1] == os.path.basename(main)
