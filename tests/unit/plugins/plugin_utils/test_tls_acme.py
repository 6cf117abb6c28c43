# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ACME settings of mailops.qmail.tls are refused before anything is written, each by name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.plugin_utils import preflight, tls_acme

DEFAULTS_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "tls", "defaults",
                             "main.yml")
ACCEPTED = {"tls_provider": "acme", "tls_acme_terms_agreed": True, "qmail_me": "mail.example.org"}


def role_defaults():
    with open(DEFAULTS_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def judge(with_defaults=True, **overrides):
    values = role_defaults() if with_defaults else {}
    values.update(ACCEPTED)
    values.update(overrides)

    def lookup(name):
        return values[name]
    return tls_acme.acme_problems(preflight.Variables(lookup))


def test_the_defaults_with_the_terms_agreed_are_accepted():
    assert judge() == []


def test_variables_the_play_does_not_set_take_the_role_defaults():
    assert judge(with_defaults=False) == []


def test_other_providers_are_not_judged_here():
    assert judge(tls_provider="selfsigned", tls_acme_directory="ftp://nowhere") == []
    assert judge(tls_provider="files", tls_acme_terms_agreed=False) == []


@pytest.mark.parametrize("overrides, variable, says", [
    ({"tls_acme_directory": "http://acme.example.org/dir"}, "tls_acme_directory", "does not use https"),
    ({"tls_acme_directory": "ftp://acme.example.org/dir", "tls_acme_allow_insecure_directory": True},
     "tls_acme_directory", "does not use https"),
    ({"tls_acme_directory": "acme.example.org/dir"}, "tls_acme_directory", "does not use https"),
    ({"tls_acme_directory": "https:///dir"}, "tls_acme_directory", "no host name"),
    ({"tls_acme_directory": "https://acme.example.org:99999/dir"}, "tls_acme_directory", "is not a URL"),
    ({"tls_acme_directory": "https://acme.example.org/a dir"}, "tls_acme_directory", "white space"),
    ({"tls_acme_directory": None}, "tls_acme_directory", "is not a URL"),
    ({"tls_acme_allow_insecure_directory": "maybe"}, "tls_acme_allow_insecure_directory", "not a boolean"),
    ({"tls_acme_terms_agreed": False}, "tls_acme_terms_agreed", "terms of service"),
    ({"tls_acme_terms_agreed": "no"}, "tls_acme_terms_agreed", "terms of service"),
    ({"tls_acme_email": "postmaster"}, "tls_acme_email", "not a mail address"),
    ({"tls_acme_email": "post master@example.org"}, "tls_acme_email", "not a mail address"),
    ({"tls_acme_email": "postmaster@exa mple.org"}, "tls_acme_email", "domain name"),
    ({"tls_acme_domains": []}, "tls_acme_domains", "non-empty list"),
    ({"tls_acme_domains": "mail.example.org"}, "tls_acme_domains", "non-empty list"),
    ({"tls_acme_domains": ["mail.example.org", "bad name"]}, "tls_acme_domains[1]", "not a host name"),
    ({"tls_acme_domains": ["mail.example.org", "MAIL.example.org"]}, "tls_acme_domains[1]", "listed twice"),
    ({"tls_acme_domains": ["*.example.org"]}, "tls_acme_domains[0]", "wildcard"),
    ({"tls_acme_domains": None, "qmail_me": "not a name"}, "qmail_me (tls_acme_domains is null)", "host name"),
    ({"tls_acme_renew_days": 0}, "tls_acme_renew_days", "outside 1..365"),
    ({"tls_acme_renew_days": 366}, "tls_acme_renew_days", "outside 1..365"),
    ({"tls_acme_renew_days": "30d"}, "tls_acme_renew_days", "plain decimal number"),
    ({"tls_acme_http_port": 0}, "tls_acme_http_port", "port number"),
    ({"tls_acme_challenge": "tls-alpn-01"}, "tls_acme_challenge", "not one of http-01, dns-01"),
    ({"tls_acme_challenge": "dns-01"}, "tls_acme_dns_hook", "needs the absolute path"),
    ({"tls_acme_challenge": "dns-01", "tls_acme_dns_hook": "nsupdate-hook"}, "tls_acme_dns_hook", "absolute path"),
    ({"tls_acme_webroot": "var/www"}, "tls_acme_webroot", "absolute path"),
    ({"tls_acme_ca_path": "pebble.pem"}, "tls_acme_ca_path", "absolute path"),
    ({"tls_acme_account_key_type": "DSA"}, "tls_acme_account_key_type", "not one of ECC, RSA"),
    ({"tls_cert_file": "/etc/ssl/mail.pem"}, "tls_cert_file", "for tls_provider files"),
    ({"tls_key_file": "/etc/ssl/mail.key"}, "tls_key_file", "for tls_provider files"),
])
def test_refused_settings_name_their_variable_and_say_why(overrides, variable, says):
    found = judge(**overrides)
    assert len(found) == 1, found
    assert found[0].startswith(variable + ":"), found
    assert says in found[0]


@pytest.mark.parametrize("overrides", [
    {"tls_acme_directory": "http://pebble:14000/dir", "tls_acme_allow_insecure_directory": True},
    {"tls_acme_directory": "https://pebble.test:14000/dir", "tls_acme_ca_path": "/etc/ssl/pebble.pem"},
    {"tls_acme_directory": "http://pebble:14000/dir", "tls_acme_allow_insecure_directory": "yes"},
    {"tls_acme_domains": ["*.example.org", "example.org"], "tls_acme_challenge": "dns-01",
     "tls_acme_dns_hook": "/usr/local/bin/acme-dns-hook"},
    {"tls_acme_email": "hostmaster+acme@example.org", "tls_acme_renew_days": "20"},
    {"tls_acme_webroot": "/var/www/html", "tls_acme_http_port": "8080", "tls_acme_account_key_type": "RSA"},
    {"tls_acme_domains": None},
])
def test_accepted_settings(overrides):
    assert judge(**overrides) == []


def test_every_problem_is_reported_at_once():
    found = judge(tls_acme_directory="http://acme.example.org/dir", tls_acme_terms_agreed=False,
                  tls_acme_renew_days=0, tls_acme_challenge="dns-01")
    named = [problem.split(":", 1)[0] for problem in found]
    assert named == ["tls_acme_directory", "tls_acme_terms_agreed", "tls_acme_renew_days", "tls_acme_dns_hook"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_directory_text_is_judged_without_an_exception(url):
    problem = tls_acme.directory_problem(url, allow_insecure=False)
    assert problem is None or problem.startswith("tls_acme_directory: ")
    if problem is None:
        assert url.startswith("https://")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.text(max_size=40)),
       st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=4))
def test_any_email_and_domains_are_judged_without_an_exception(email, domains):
    for problem in judge(tls_acme_email=email, tls_acme_domains=domains):
        assert problem.startswith(("tls_acme_email: ", "tls_acme_domains"))
