# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mailops.qmail.tls: its documented defaults and the decisions of the ACME provider, rendered with
Ansible's templating as the role's tasks see them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

from ansible_collections.mailops.qmail.plugins.plugin_utils import tls_acme

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position

DEFAULTS = r.load(os.path.join(r.ROLES, "tls", "defaults", "main.yml"))


def tls_vars(family="Debian", **extra):
    extra.setdefault("qmail_flavour", "sagredo")
    extra.setdefault("qmail_me", "mail.example.org")
    return r.role_vars("tls", family, dependencies=["qmail", "daemontools"], **extra)


def test_defaults_match_argument_specs_exactly():
    options = r.load(os.path.join(r.ROLES, "tls", "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert sorted(DEFAULTS) == sorted(options)
    for name, spec in options.items():
        assert spec.get("default") == DEFAULTS[name], name
        assert spec.get("description"), name


def test_the_preflight_assumes_the_role_defaults():
    assert tls_acme.DEFAULT_DIRECTORY == DEFAULTS["tls_acme_directory"]
    assert DEFAULTS["tls_acme_challenge"] == tls_acme.CHALLENGES[0]
    assert DEFAULTS["tls_acme_account_key_type"] == tls_acme.ACCOUNT_KEY_TYPES[0]


VALID = {"valid_at": {"renewal": True}, "subject_alt_name": ["DNS:mail.example.org"]}


@pytest.mark.parametrize("current, key, extra, due", [
    (VALID, {"changed": False}, {}, False),
    # Names compare as DNS does, without regard to case.
    (VALID, {"changed": False}, {"tls_acme_domains": ["MAIL.example.org"]}, False),
    ({"valid_at": {"renewal": False}, "subject_alt_name": VALID["subject_alt_name"]}, {"changed": False}, {}, True),
    # No certificate yet: x509_certificate_info failed (tolerated) and returned no valid_at.
    ({"failed": True, "msg": "No such file"}, {"changed": False}, {}, True),
    (VALID, {"changed": False}, {"tls_acme_domains": ["mail.example.org", "smtp.example.org"]}, True),
    (VALID, {"changed": False}, {"qmail_me": "mx.example.org"}, True),
    # A new key makes the certificate in place someone else's.
    (VALID, {"changed": True}, {}, True),
])
def test_a_certificate_is_ordered_only_when_due(current, key, extra, due):
    variables = tls_vars(tls_provider="acme", __tls_acme_current=current, __tls_key=key, **extra)
    assert r.value(variables, "__tls_acme_due") is due


@pytest.mark.parametrize("challenge, webroot, challenge_data, http, serves", [
    ("http-01", None, [{"identifier": "mail.example.org"}], True, True),
    ("http-01", "/var/www/html", [{"identifier": "mail.example.org"}], True, False),
    # Authorizations the server reuses need no challenge, so nothing is served.
    ("http-01", None, [], False, False),
    ("dns-01", None, [{"identifier": "mail.example.org"}], False, False),
])
def test_the_role_serves_http_01_only_without_a_web_server_and_only_when_asked(
        challenge, webroot, challenge_data, http, serves):
    variables = tls_vars(tls_provider="acme", tls_acme_challenge=challenge, tls_acme_webroot=webroot,
                         __tls_acme_order={"challenge_data": challenge_data})
    assert r.value(variables, "__tls_acme_http") is http
    assert r.value(variables, "__tls_acme_serves") is serves


def test_the_responder_serves_a_subdirectory_so_its_pid_file_stays_private():
    variables = tls_vars(__tls_acme_tmp={"path": "/tmp/ansible.x.acme"})
    assert r.value(variables, "__tls_acme_http_root") == "/tmp/ansible.x.acme/www"
    assert r.value(tls_vars(tls_acme_webroot="/srv/www"), "__tls_acme_http_root") == "/srv/www"


def test_the_account_key_lives_in_the_root_only_directory():
    variables = tls_vars(tls_dir="/etc/ssl/qmail")
    assert r.value(variables, "__tls_acme_account_key_path") == "/etc/ssl/qmail/acme-account.key"
    assert r.value(variables, "__tls_acme_domains") == ["mail.example.org"]
