# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""smtproutes rendering per flavour syntax, validation and masking."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import smtproutes

ROUTES = [
    dict(relay="smtp.provider.example", port=587, username="mailer", password="s3cret"),
    dict(domain=".example.org", relay="[192.0.2.1]"),
    dict(domain="example.net", relay=""),
]


@pytest.mark.parametrize("syntax, first_line", [
    ("base64", ":smtp.provider.example:587 bWFpbGVy czNjcmV0"),
    ("space", ":smtp.provider.example:587 mailer s3cret"),
    ("pipe", ":smtp.provider.example:587|mailer|s3cret"),
])
def test_render_per_syntax(syntax, first_line):
    text = smtproutes.render(smtproutes.normalize(ROUTES, syntax), syntax)
    assert text == first_line + "\n.example.org:[192.0.2.1]\nexample.net:\n"


def test_classic_without_credentials():
    routes = smtproutes.normalize([dict(relay="relay.example", port=2525),
                                   dict(domain="a.example", relay="10.0.0.1")], "classic")
    assert smtproutes.render(routes, "classic") == ":relay.example:2525\na.example:10.0.0.1\n"
    assert not smtproutes.has_credentials(routes)


def test_pipe_syntax_gets_an_explicit_port_with_credentials():
    routes = smtproutes.normalize([dict(relay="r.example", username="u", password="p")], "pipe")
    assert smtproutes.render(routes, "pipe") == ":r.example:25|u|p\n"


@pytest.mark.parametrize("syntax, flavour, expected", [
    (None, None, "classic"), (None, "gentoo", "base64"), (None, "sagredo", "pipe"),
    (None, "jms", "space"), ("space", None, "space"),
])
def test_syntax_from_flavour(syntax, flavour, expected):
    assert smtproutes.syntax_for(syntax, flavour) == expected


@pytest.mark.parametrize("routes, syntax, message", [
    ([dict(relay="r.example", username="u", password="p")], "classic", "credentials need an smtproutes syntax"),
    ([dict(relay="r.example", username="u")], "base64", "username and password go together"),
    ([dict(relay="", username="u", password="p")], "base64", "credentials need a relay"),
    ([dict(relay="r.example", port=0)], "classic", "not a port number"),
    ([dict(relay="r.example", port=65536)], "classic", "not a port number"),
    ([dict(relay="", port=25)], "classic", "needs a relay"),
    ([dict(domain="a:b", relay="r.example")], "classic", "contains ':'"),
    ([dict(domain="a.example", relay="r.example|x")], "classic", "contains '|'"),
    ([dict(domain="a example", relay="r.example")], "classic", "contains ' '"),
    ([dict(domain="a.example", relay="bad_host!")], "classic", "neither a host name"),
    ([dict(domain="a.example", relay="[300.1.1.1]")], "classic", "not an IPv4 address"),
    ([dict(domain="A.example", relay="r"), dict(domain="a.example", relay="s")], "classic",
     "a second route for 'a.example' (the first is routes[0])"),
    ([dict(relay="r"), dict(domain="", relay="s")], "classic", "a second route for 'the default route'"),
    ([dict(relay="r.example", username="u", password="p w")], "space", "routes[0] (default route).password"),
    ([dict(relay="r.example", username="u|v", password="p")], "pipe", "contains '|'"),
    ([dict(relay="r.example", username="u", password="a\nb")], "base64", "contains '\\n'"),
    ([dict(relay="r.example", username="", password="p")], "base64", "non-empty string"),
    ([dict(relay="r.example", colour="red")], "classic", "unknown key(s) colour"),
    (["r.example"], "classic", "must be a dict"),
    ("r.example", "classic", "must be a list"),
])
def test_validation_errors_name_the_route(routes, syntax, message):
    with pytest.raises(smtproutes.RoutesError) as info:
        smtproutes.normalize(routes, syntax)
    assert message in str(info.value)


def test_password_never_in_an_error():
    with pytest.raises(smtproutes.RoutesError) as info:
        smtproutes.normalize([dict(relay="r.example", username="u", password="top secret")], "space")
    assert "top secret" not in str(info.value)


def test_masking():
    routes = smtproutes.normalize(ROUTES, "space")
    assert "s3cret" not in smtproutes.render(routes, "space", mask=True)
    assert smtproutes.masked_routes(routes)[0]["password"] == smtproutes.MASK
    assert smtproutes.masked_routes(routes)[1]["password"] is None
    for syntax in ("base64", "space", "pipe"):
        text = smtproutes.render(routes, syntax)
        masked = smtproutes.mask_text(text, syntax)
        assert "s3cret" not in masked and "czNjcmV0" not in masked
        assert ".example.org:[192.0.2.1]" in masked
    assert smtproutes.mask_text(None, "pipe") is None


def test_bad_syntax_and_flavour():
    with pytest.raises(smtproutes.RoutesError, match="syntax"):
        smtproutes.syntax_for("weird")
    with pytest.raises(smtproutes.RoutesError, match="flavour"):
        smtproutes.syntax_for(None, "postfix")
