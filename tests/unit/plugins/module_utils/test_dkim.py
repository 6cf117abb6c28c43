# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/dkim.py: what it signs verifies with dkimpy's own verifier against the TXT record
it publishes; a changed byte does not; and bad settings are refused by name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings, strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import dkim
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

MESSAGE = (b"From: Alice <alice@example.org>\n"
           b"To: bob@example.net\n"
           b"Subject: quarterly figures\n"
           b"Date: Wed, 02 Dec 2026 09:00:00 +0000\n"
           b"Message-ID: <1@example.org>\n"
           b"\n"
           b"Hello Bob,\n"
           b"the figures are attached.  \n"
           b"\n"
           b"Alice\n")


@pytest.fixture(scope="module")
def keys():
    """One private key per algorithm, made once: RSA generation takes a while."""
    return {dkim.RSA: dkim.generate_private_key(dkim.RSA, 2048), dkim.ED25519: dkim.generate_private_key(dkim.ED25519)}


def config_for(*signing_keys, **extra):
    settings_ = {"keys": [dict(domain=k.domain, selector=k.selector, algorithm=k.algorithm, key_file=k.key_file)
                          for k in signing_keys]}
    settings_.update(extra)
    return dkim.parse_config(settings_)


def dns_for(records):
    """A dnsfunc for dkimpy: {name: TXT text}, as a resolver would answer."""
    def lookup(name, timeout=5):  # pylint: disable=unused-argument
        return records.get(name.decode("ascii").rstrip(".")).encode("ascii") if name.decode(
            "ascii").rstrip(".") in records else None
    return lookup


def record(key, pem):
    key_algorithm, _bits, public = dkim.key_facts(pem)
    assert key_algorithm == key.algorithm
    return {"%s._domainkey.%s" % (key.selector, key.domain): dkim.txt_value(key_algorithm, public)}


def wire(message):
    """The message as qmail-remote sends it: CRLF line ends."""
    return message.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("key_algorithm", dkim.ALGORITHMS)
@pytest.mark.parametrize("canon", dkim.CANONICALIZATIONS)
def test_a_signed_message_verifies_with_dkimpy_and_a_changed_body_byte_does_not(keys, key_algorithm, canon):
    key = dkim.SigningKey("example.org", "sel2026", key_algorithm, "/keys/example.org/sel2026.private")
    config = config_for(key, canonicalization=canon)
    fields = dkim.signatures(MESSAGE, config, {key.key_file: keys[key_algorithm]}.__getitem__)
    assert len(fields) == 1 and fields[0].startswith(b"DKIM-Signature: ") and fields[0].endswith(b"\n")
    assert b"\r" not in fields[0]
    signed = fields[0] + MESSAGE
    dns = dns_for(record(key, keys[key_algorithm]))
    assert dkimpy.verify(wire(signed), dnsfunc=dns)
    assert dkimpy.verify(signed, dnsfunc=dns)
    tampered = signed.replace(b"figures are", b"figures ate")
    assert tampered != signed
    assert not dkimpy.verify(wire(tampered), dnsfunc=dns)
    tags = dict(part.strip().split("=", 1) for part in fields[0].decode("ascii").split(":", 1)[1].split(";")
                if "=" in part)
    assert tags["a"] == key_algorithm and tags["d"] == "example.org" and tags["s"] == "sel2026"
    assert tags["c"] == canon


def test_a_key_of_another_selector_does_not_verify(keys):
    key = dkim.SigningKey("example.org", "new", dkim.RSA, "/k")
    other = dkim.generate_private_key(dkim.RSA, 2048)
    fields = dkim.signatures(MESSAGE, config_for(key), {"/k": keys[dkim.RSA]}.__getitem__)
    wrong = {"new._domainkey.example.org": dkim.txt_value(dkim.RSA, dkim.key_facts(other)[2])}
    assert not dkimpy.verify(wire(fields[0] + MESSAGE), dnsfunc=dns_for(wrong))


def test_every_signing_selector_of_the_domain_signs_and_each_signature_verifies(keys):
    rsa_key = dkim.SigningKey("example.org", "r1", dkim.RSA, "/r")
    ed_key = dkim.SigningKey("example.org", "e1", dkim.ED25519, "/e")
    fields = dkim.signatures(MESSAGE, config_for(rsa_key, ed_key),
                             {"/r": keys[dkim.RSA], "/e": keys[dkim.ED25519]}.__getitem__)
    signed = wire(b"".join(fields) + MESSAGE)
    records = dict(record(rsa_key, keys[dkim.RSA]), **record(ed_key, keys[dkim.ED25519]))
    verifier = dkimpy.DKIM(signed)
    assert [verifier.verify(idx=i, dnsfunc=dns_for(records)) for i in range(2)] == [True, True]


@pytest.mark.parametrize("from_field, expected", [
    (b"From: alice@Example.ORG", "example.org"),
    (b"From: \"Smith, Alice (a@b)\" <alice@example.org>", "example.org"),
    (b"from: Alice <alice@example.org> (work)", "example.org"),
    (b"From: Alice\n <alice@sub.example.org>", "sub.example.org"),
    (b"From: alice@example.org, bob@example.net", None),
    (b"From: undisclosed", None),
    (b"To: bob@example.net", None),
])
def test_the_author_domain_is_that_of_the_single_from_address(from_field, expected):
    assert dkim.author_domain(from_field + b"\nSubject: x\n\nbody From: x@y.z\n") == expected


def test_two_from_fields_have_no_author_domain():
    assert dkim.author_domain(b"From: a@example.org\nFrom: b@example.org\n\nx\n") is None


def test_mail_of_other_domains_is_left_alone_without_reading_a_key():
    key = dkim.SigningKey("example.org", "s", dkim.RSA, "/k")

    def no_read(path):
        raise AssertionError("read %s" % path)
    assert dkim.signatures(MESSAGE.replace(b"example.org>", b"example.com>"), config_for(key), no_read) == []


@pytest.mark.parametrize("content, reason", [
    (None, "No such file"),
    (b"not a key", "not a PEM private key"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PKCS#1"),
])
def test_an_unreadable_or_wrong_key_makes_the_message_unsignable(content, reason):
    key = dkim.SigningKey("example.org", "s", dkim.RSA, "/keys/s.private")

    def read(path):
        if content is None:
            raise FileNotFoundError(2, "No such file or directory", path)
        return content
    with pytest.raises(dkim.UnsignableError, match=reason) as caught:
        dkim.signatures(MESSAGE, config_for(key), read)
    assert "/keys/s.private" in str(caught.value)


def test_an_rsa_key_given_for_ed25519_is_unsignable(keys):
    key = dkim.SigningKey("example.org", "s", dkim.ED25519, "/k")
    with pytest.raises(dkim.UnsignableError, match="ed25519"):
        dkim.signatures(MESSAGE, config_for(key), {"/k": keys[dkim.RSA]}.__getitem__)


def test_a_message_dkimpy_cannot_parse_is_unsignable(keys):
    key = dkim.SigningKey("example.org", "s", dkim.RSA, "/k")
    broken = b"From: a@example.org\nno colon in this header line\n\nbody\n"
    with pytest.raises(dkim.UnsignableError, match="example.org selector s"):
        dkim.signatures(broken, config_for(key), {"/k": keys[dkim.RSA]}.__getitem__)


def test_public_keys_have_the_form_rfc_6376_and_8463_put_in_p(keys):
    algorithm_, bits, public = dkim.key_facts(keys[dkim.RSA])
    assert (algorithm_, bits) == (dkim.RSA, 2048)
    spki = serialization.load_der_public_key(base64.b64decode(public))
    assert spki.key_size == 2048
    algorithm_, bits, public = dkim.key_facts(keys[dkim.ED25519])
    assert (algorithm_, bits, len(base64.b64decode(public))) == (dkim.ED25519, None, 32)
    assert dkim.txt_value(dkim.ED25519, public) == "v=DKIM1; k=ed25519; p=" + public


def test_key_facts_refuse_what_is_no_private_key():
    with pytest.raises(ValidationError, match="not an unencrypted PEM private key"):
        dkim.key_facts(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize("entry, field, accepted", [
    ({"domain": "example.org", "selector": "mail.2026"}, "dkim_domains[0].selector", "no dot"),
    ({"domain": "example.org", "selector": "_x"}, "dkim_domains[0].selector", "one DNS label"),
    ({"domain": "example.org", "selector": ""}, "dkim_domains[0].selector", "one DNS label"),
    ({"domain": "exa mple.org", "selector": "s"}, "dkim_domains[0].domain", "host name"),
    ({"domain": "_dmarc.example.org", "selector": "s"}, "dkim_domains[0].domain", "no mail domain"),
    ({"selector": "s"}, "dkim_domains[0].domain is missing", ""),
    ({"domain": "example.org", "selector": "s", "algorithm": "rsa-sha1"}, "dkim_domains[0].algorithm",
     "rsa-sha256, ed25519-sha256"),
    ({"domain": "example.org", "selector": "s", "bits": 1024}, "dkim_domains[0].bits", "from 2048 to 4096"),
    ({"domain": "example.org", "selector": "s", "bits": "2048"}, "dkim_domains[0].bits", "multiple of 8"),
    ({"domain": "example.org", "selector": "s", "bits": True}, "dkim_domains[0].bits", "multiple of 8"),
    ({"domain": "example.org", "selector": "s", "algorithm": "ed25519-sha256", "bits": 2048},
     "dkim_domains[0].bits", "leave it out"),
    ({"domain": "example.org", "selector": "s", "sign": "yes"}, "dkim_domains[0].sign", "true"),
    ({"domain": "example.org", "selector": "s", "key": "x"}, "dkim_domains[0]: unknown key(s) key", "selector"),
])
def test_bad_entries_are_refused_naming_the_field_and_what_is_accepted(entry, field, accepted):
    with pytest.raises(ValidationError) as caught:
        dkim.key_entries([entry], "dkim_domains")
    assert field in str(caught.value) and accepted in str(caught.value)


def test_entries_get_their_defaults_and_selectors_lower_case():
    entries = dkim.key_entries([{"domain": "Example.ORG.", "selector": "Mail2026"},
                                {"domain": "example.org", "selector": "ed", "algorithm": dkim.ED25519,
                                 "sign": False}], "dkim_domains")
    assert entries == [
        {"domain": "example.org", "selector": "mail2026", "algorithm": dkim.RSA, "bits": 2048, "sign": True},
        {"domain": "example.org", "selector": "ed", "algorithm": dkim.ED25519, "bits": None, "sign": False}]


def test_a_selector_given_twice_is_refused():
    with pytest.raises(ValidationError, match=r"dkim_domains\[1\]: selector 's' of example.org is already "
                                              r"dkim_domains\[0\]"):
        dkim.key_entries([{"domain": "example.org", "selector": "s"},
                          {"domain": "example.org", "selector": "S"}], "dkim_domains")


@pytest.mark.parametrize("name, value, field, accepted", [
    ("headers", ["to", "subject"], "headers", "leaves out 'from'"),
    ("headers", ["from", "received"], "headers[1]", "breaks the signature"),
    ("headers", ["from", "x y"], "headers[1]", "header field name"),
    ("headers", [], "headers", "list of header field names"),
    ("canonicalization", "relaxed", "canonicalization", "relaxed/relaxed"),
    ("unsignable", "drop", "unsignable", "defer, send"),
    ("queue_program", "qmail-queue", "queue_program", "absolute path"),
])
def test_bad_signer_settings_are_refused_naming_the_setting(name, value, field, accepted):
    settings_ = {"keys": [{"domain": "example.org", "selector": "s", "algorithm": dkim.RSA, "key_file": "/k"}],
                 name: value}
    with pytest.raises(ValidationError) as caught:
        dkim.parse_config(settings_, "/etc/dkim.json")
    assert ("/etc/dkim.json: " + field) in str(caught.value) and accepted in str(caught.value)


def test_the_signer_defaults_are_relaxed_relaxed_the_rfc_headers_and_defer():
    config = dkim.parse_config({"keys": [{"domain": "example.org", "selector": "s", "algorithm": dkim.RSA,
                                          "key_file": "/k"}]})
    assert (config.canonicalization, config.unsignable) == ("relaxed/relaxed", "defer")
    assert config.headers[0] == "from" and "subject" in config.headers
    assert config.queue_program == "/var/qmail/bin/qmail-queue"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=70))
def test_a_selector_is_accepted_exactly_when_it_is_one_dns_label(text):
    label = (len(text) <= 63 and text[0].isalnum() and text[-1].isalnum()
             and all(c.isalnum() or c == "-" for c in text))
    try:
        assert dkim.selector(text, "s") == text.lower() and label
    except ValidationError:
        assert not label


@settings(max_examples=30, deadline=None)
@given(body=st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
                     max_size=8),
       subject=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60))
def test_any_plain_message_signed_verifies_on_the_wire(keys, body, subject):
    key = dkim.SigningKey("example.org", "p", dkim.ED25519, "/e")
    message = b"From: a@example.org\nSubject: " + subject.encode("ascii") + b"\n\n" + \
        "\n".join(body).encode("ascii") + b"\n"
    fields = dkim.signatures(message, config_for(key), {"/e": keys[dkim.ED25519]}.__getitem__)
    assert dkimpy.verify(wire(fields[0] + message), dnsfunc=dns_for(record(key, keys[dkim.ED25519])))


class Variables(dict):
    """The preflight's reader of play variables, reduced to what problems() uses."""


@pytest.mark.parametrize("variables, expected", [
    ({}, []),
    ({"dkim_domains": [{"domain": "example.org", "selector": "a.b"}]}, ["dkim_domains[0].selector: 'a.b'"]),
    ({"dkim_unsignable": "drop", "dkim_canonicalization": "simple"},
     ["dkim_unsignable: 'drop'", "dkim_canonicalization: 'simple'"]),
    ({"dkim_headers": ["to"]}, ["dkim_headers: ['to'] leaves out 'from'"]),
    ({"dkim_user": "Root Admin", "dkim_key_dir": "keys"}, ["dkim_user: 'Root Admin'", "dkim_key_dir: 'keys'"]),
    ({"dkim_queue_program": "qmail-queue"}, ["dkim_queue_program: 'qmail-queue'"]),
])
def test_problems_name_each_refused_variable(variables, expected):
    found = dkim.problems(Variables(variables))
    assert len(found) == len(expected)
    for message, start in zip(found, expected):
        assert message.startswith(start), message
