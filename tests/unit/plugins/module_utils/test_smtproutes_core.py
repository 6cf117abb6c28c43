# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""smtproutes rendering per flavour syntax, validation and masking."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("route, field", [
    (dict(relay="r.example", username="u", password="top secret"), "password"),
    (dict(relay="r.example", username="top secret", password="p"), "username"),
    (dict(relay="r.example", username="top|secret", password="p"), "username"),
    (dict(relay="r.example", username="u", password="top\ud800secret"), "password"),
    (dict(relay="r.example", username="top\udc80secret", password="p"), "username"),
    (dict(relay="r.example", username="u", password=["top", "secret"]), "password"),
    (dict(relay="r.example", username=b"top secret", password="p"), "username"),
])
def test_credentials_never_in_an_error(route, field):
    with pytest.raises(smtproutes.RoutesError) as info:
        smtproutes.normalize([route], "pipe")
    message = str(info.value)
    assert message.startswith("routes[0] (default route).%s: ********" % field)
    assert "top" not in message and "secret" not in message


@pytest.mark.parametrize("route, message", [
    (dict(domain="a\ud800.example", relay="r.example"), "routes[0] ('a\\ud800.example').domain: 'a\\ud800.example' is not valid UTF-8"),
    (dict(domain="a.example", relay=5), "routes[0] (a.example).relay: 5 is a int; a string is accepted"),
    (dict(domain=["x"], relay="r"), "routes[0] (['x']).domain: ['x'] is a list"),
    ({1: "x", "relay": "r"}, "unknown key(s) 1"),
    (dict(relay="r.example", port=10 ** 40), "not a port number"),
])
def test_wrong_types_and_text_are_refused_by_name(route, message):
    with pytest.raises(smtproutes.RoutesError) as info:
        smtproutes.normalize([route], "space")
    assert message in str(info.value)


def test_masked_routes_hide_user_names_and_passwords():
    routes = smtproutes.masked_routes(smtproutes.normalize(ROUTES, "space"))
    assert routes[0]["username"] == routes[0]["password"] == smtproutes.MASK
    assert routes[1]["username"] is None and routes[1]["password"] is None
    assert routes[0]["relay"] == "smtp.provider.example"


@pytest.mark.parametrize("line, masked", [
    (":smtp.provider.example:587 bWFpbGVy czNjcmV0", ":smtp.provider.example:587 ******** ********"),
    (":smtp.provider.example:587 mailer s3cret", ":smtp.provider.example:587 ******** ********"),
    (":smtp.provider.example:587|mailer|s3cret", ":smtp.provider.example:587|********|********"),
    ("a.example:r.example mailer s3cret", "a.example:r.example ******** ********"),
    ("a.example:r.example:25:mailer:s3cret", "a.example:r.example:25********"),
    ("a.example:r.example:mailer:s3cret", "a.example:r.example********"),
    ("a.example:r.example:25x", "a.example:r.example:25********"),
    ("mailer s3cret", "******** ********"),
    ("s3cret", "********"),
    (".example.org:[192.0.2.1]", ".example.org:[192.0.2.1]"),
    ("example.net:", "example.net:"),
    (":r.example:2525", ":r.example:2525"),
    ("", ""),
])
def test_mask_text_masks_every_field_after_the_route_whatever_the_syntax(line, masked):
    assert smtproutes.mask_text(line) == masked
    assert smtproutes.mask_text(line + "\n" + line + "\n") == masked + "\n" + masked + "\n"


def test_mask_text_of_no_file():
    assert smtproutes.mask_text(None) is None


# What normalize accepts in every syntax with credentials: no separator, no line break, no NUL.
CREDENTIAL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\x00|"),
                     min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(user=CREDENTIAL, password=CREDENTIAL, syntax=st.sampled_from(("base64", "space", "pipe")),
       port=st.one_of(st.none(), st.integers(1, 65535)))
def test_masked_text_holds_only_the_route(user, password, syntax, port):
    routes = smtproutes.normalize([dict(relay="smtp.provider.example", port=port, username=user,
                                        password=password)], syntax)
    masked = smtproutes.mask_text(smtproutes.render(routes, syntax))
    route = ":smtp.provider.example" + ("" if port is None and syntax != "pipe" else ":%d" % (port or 25))
    assert set(masked[len(route):]) <= set(" |*\n")
    assert masked.startswith(route)


def test_bad_syntax_and_flavour():
    with pytest.raises(smtproutes.RoutesError, match="syntax"):
        smtproutes.syntax_for("weird")
    with pytest.raises(smtproutes.RoutesError, match="flavour"):
        smtproutes.syntax_for(None, "postfix")
