# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""addresses.parse(), the one parser of tcpserver's rule matches, against its readers: tcprules
(Debian's real binary, and the model of it in module_utils/tcprules.py) and tcpserver's lookup of
a client (its address, then each prefix ending in a dot, then '=' and its lower-case PTR name)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import addresses
from ansible_collections.mailops.qmail.plugins.module_utils import cdb
from ansible_collections.mailops.qmail.plugins.module_utils import tcprules
from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
from ansible_collections.mailops.qmail.tests.unit.plugins.module_utils.test_tcprules_core import (
    TCPRULES,
    TCPRULESCHECK,
    check,
    needs_tcprules,
    real_tcprules,
)

HAS_TCPRULES = os.access(TCPRULES, os.X_OK) and os.access(TCPRULESCHECK, os.X_OK)
PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Octet texts, good and bad: canonical numbers, leading zeros, too large, digits outside ASCII
# (which str.isdigit() and int() take), and the bytes that break a line of the rules file.
OCTET = st.one_of(
    st.integers(0, 255).map(str),
    st.integers(0, 99999).map(str),
    st.sampled_from(["", "00", "01", "010", "256", "\u00b2", "\u0660", "1\u0660", "1\x00", "1\n",
                     " 1", "+1", "1_0", "9" * 25]),
)
PART = st.one_of(OCTET, st.tuples(OCTET, OCTET).map("-".join))
DOTTED = st.tuples(st.lists(PART, min_size=1, max_size=5), st.booleans()).map(
    lambda parts_prefix: ".".join(parts_prefix[0]) + ("." if parts_prefix[1] else ""))
CIDR = st.tuples(st.lists(OCTET, min_size=4, max_size=4).map(".".join),
                 st.one_of(st.integers(0, 33).map(str), st.sampled_from(["", "08", "-1", "\u00b3", "32\n"]))
                 ).map("/".join)


def _dotted(parts, spot, odd):
    """Octets joined with dots, one of them made a range (spot: index, low, high) if given; a
    prefix below four octets and an address at four, or (odd) the other way round."""
    parts = list(parts)
    if spot is not None:
        parts[spot[0] % len(parts)] = "%d-%d" % spot[1:]
    return ".".join(parts) + ("." if (len(parts) < 4) != odd else "")


# Mostly well-formed addresses, prefixes and ranges (empty ranges and a dot after four octets
# included), and networks with and without host bits: the forms parse() accepts must be common.
WELL_FORMED = st.one_of(
    st.builds(_dotted, st.lists(st.integers(0, 255).map(str), min_size=1, max_size=4),
              st.none() | st.tuples(st.integers(0, 3), st.integers(0, 200), st.integers(0, 255)),
              st.sampled_from([False] * 9 + [True])),
    st.builds(lambda number, length, host_bits: "%s/%d" % (
        ipaddress.IPv4Address(number if host_bits else number >> (32 - length) << (32 - length)), length),
        st.integers(0, (1 << 32) - 1), st.integers(0, 32), st.booleans()),
)
LABEL = st.one_of(st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_-]{0,8}\Z"),
                  st.sampled_from(["", "-a", "a-", "x" * 64, "\u00e9t\u00e9", "a b", "A\x00"]))
NAME = st.tuples(st.sampled_from(["=", "=."]), st.lists(LABEL, max_size=4).map(".".join),
                 st.sampled_from(["", "", ".", "\n"])).map("".join)
JUNK = st.text(alphabet=st.sampled_from(list("0123456789.-/=:@ aZ_,#\x00\n\r\t\u00b2\u0660\ud800\udce9")),
               max_size=16)
MATCHES = st.one_of(WELL_FORMED, WELL_FORMED, WELL_FORMED, DOTTED, CIDR, NAME, JUNK, st.text(max_size=20))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("addresses")


def key_network(key):
    """The IPv4 addresses tcpserver finds under an address key: the address, or a prefix's block.

    tcpserver writes the client's address with ip4_fmt(): decimal octets without leading zeros.
    """
    octets = key.rstrip(".").split(".")
    assert all(re.match(r"\A[0-9]{1,3}\Z", octet) and str(int(octet)) == octet and int(octet) <= 255
               for octet in octets), key
    if key.endswith("."):
        assert 1 <= len(octets) <= 3, key
    else:
        assert len(octets) == 4, key
    base = ".".join(octets + ["0"] * (4 - len(octets)))
    return ipaddress.IPv4Network("%s/%d" % (base, 8 * len(octets)))


def lookup_keys(ip):
    """The address keys tcpserver's rules() tries for a client, in its order."""
    return [ip] + [ip[:end + 1] for end in range(len(ip) - 1, -1, -1) if ip[end] == "."]


def assert_every_key_can_match(form):
    if form.kind == addresses.DEFAULT:
        assert form.keys == [""] and form.text == "" and form.addresses == 1 << 32
    elif form.kind == addresses.NAME:
        (key,) = form.keys
        assert key == form.text and key.startswith("=") and form.addresses is None
        name = key[1:]
        if name:
            # djbdns writes names in lower case, without the final dot.
            assert name == name.lower() and not name.endswith(".")
            validate.hostname(name, "name", allow_leading_dot=True)
    else:
        assert form.kind == addresses.ADDRESS
        networks = [key_network(key) for key in form.keys]
        # Equal sums before and after merging: no address is counted twice.
        assert sum(net.num_addresses for net in networks) == form.addresses
        assert sum(net.num_addresses for net in ipaddress.collapse_addresses(networks)) == form.addresses


@PROPERTY
@given(match=MATCHES)
@example(match="0.0.0.\u00b2")
@example(match="0.0.0.\u0660")
@example(match="10.0.0.1-\x005")
@example(match="10.0.0.1\x00")
@example(match="10.0.0.1\n")
@example(match="=mail.example.com\n")
@example(match="192.0.2.0/24\n")
@example(match="10.\ud800")
@example(match="=caf\udce9.example")
@example(match="10.0.0.1-" + "9" * 5000)
@example(match="10.0.0.0/8")
@example(match="192.168.010.")
@example(match="10.0.0.01-3")
@example(match="=Mail.Example.COM")
def test_parse_refuses_or_writes_the_keys_tcprules_stores(workdir, match):
    try:
        form = addresses.parse(match, "rules[0].match")
    except ValidationError as exc:
        assert str(exc).startswith("rules[0].match: ")
        event("refused")
        return
    event("accepted: " + form.kind)
    source = (form.text + ":allow\n").encode("ascii")
    assert not any(char in form.text for char in ":,#\n\r\x00 \t")
    model_keys, _values = tcprules.parse_source(source)
    assert [key.decode("ascii") for key in model_keys] == form.keys
    assert_every_key_can_match(form)
    if HAS_TCPRULES:
        rc, real = real_tcprules(workdir, source)
        assert rc == 0, real
        assert [key for key, _value in cdb.read(real)] == model_keys
        assert tcprules.compile_source(source) == real


@needs_tcprules
@PROPERTY
@given(key=st.binary(max_size=24).map(lambda data: bytes(
    b"0123456789.-=@# \x00\xb2a"[byte % 17] for byte in data)))
@example(key=b"10.0.0.1\x00x-3")
@example(key=b"10.0.0.1-3\x00junk")
@example(key=b"10.0.0.\xc2\xb2-3")
@example(key=b"10.0.0.250-" + b"9" * 40)
def test_the_model_of_tcprules_stores_the_keys_the_real_one_does(workdir, key):
    """The reader model the writer is checked against is itself checked against Debian's tcprules:
    whatever text precedes the colon (ranges, NUL bytes, digits outside ASCII, wrapping numbers),
    both refuse the line or both write the same CDB."""
    source = key + b":allow\n"
    rc, real = real_tcprules(workdir, source)
    try:
        ours = tcprules.compile_source(source)
    except tcprules.TcpRulesError:
        assert rc == 100
        return
    assert rc == 0 and ours == real


@PROPERTY
@given(network=st.tuples(st.integers(0, (1 << 32) - 1), st.integers(0, 32)).map(
    lambda pair: ipaddress.IPv4Network((pair[0] >> (32 - pair[1]) << (32 - pair[1]), pair[1]))),
    probe=st.integers(0, (1 << 32) - 1))
def test_a_cidr_network_covers_exactly_its_addresses(network, probe):
    form = addresses.parse(str(network))
    assert form.addresses == network.num_addresses
    if form.kind == addresses.DEFAULT:
        assert network.prefixlen == 0
        return
    assert list(ipaddress.collapse_addresses(key_network(key) for key in form.keys)) == [network]
    ip = str(ipaddress.IPv4Address(probe))
    assert bool(set(lookup_keys(ip)) & set(form.keys)) == (ipaddress.IPv4Address(probe) in network)


@PROPERTY
@given(match=st.one_of(DOTTED, CIDR, NAME), position=st.integers(0, 30),
       intruder=st.sampled_from(["\x00", "\n", "\r", " ", "\t", ":", ",", "#", "\u00b2", "\u0660", "\ud800",
                                 "\udce9", "\u00e9", "\u2028"]))
def test_a_character_no_form_holds_is_refused_wherever_it_is(match, position, intruder):
    spoiled = match[:position] + intruder + match[position:]
    with pytest.raises(ValidationError) as info:
        addresses.parse(spoiled, "f")
    assert str(info.value).startswith("f: %r" % spoiled)


@needs_tcprules
@pytest.mark.parametrize("network", ["10.0.0.0/8", "10.16.0.0/12", "192.0.2.128/25", "192.0.2.7/32",
                                     "0.0.0.0/1", "128.0.0.0/1", "198.51.100.0/22"])
def test_real_tcprulescheck_allows_exactly_the_network(tmp_path, network):
    net = ipaddress.IPv4Network(network)
    source = ("%s:deny\n:allow\n" % addresses.parse(network).text).encode()
    rc, _real = real_tcprules(tmp_path, source)
    assert rc == 0
    inside = [net.network_address, net.broadcast_address]
    neighbours = (int(net.network_address) - 1, int(net.broadcast_address) + 1)
    outside = [ipaddress.IPv4Address(number) for number in neighbours if 0 <= number < 1 << 32]
    for address in inside + outside:
        _rc, answer = check(tmp_path / "real.cdb", str(address))
        assert (b"deny connection" in answer) == (address in net), (address, answer)


@needs_tcprules
def test_real_tcprulescheck_matches_a_name_only_in_the_lower_case_tcpserver_uses(tmp_path):
    text = addresses.parse("=.Example.COM").text
    rc, _real = real_tcprules(tmp_path, ("%s:deny\n:allow\n" % text).encode())
    assert rc == 0
    assert b"deny connection" in check(tmp_path / "real.cdb", "192.0.2.1", "mx.example.com")[1]
    assert b"deny connection" not in check(tmp_path / "real.cdb", "192.0.2.1", "example.com")[1]


@pytest.mark.parametrize("match, kind, text, keys, count", [
    ("", addresses.DEFAULT, "", [""], 1 << 32),
    ("0.0.0.0/0", addresses.DEFAULT, "", [""], 1 << 32),
    ("=", addresses.NAME, "=", ["="], None),
    ("=MX.example.com", addresses.NAME, "=mx.example.com", ["=mx.example.com"], None),
    ("=.example.com", addresses.NAME, "=.example.com", ["=.example.com"], None),
    ("192.0.2.7", addresses.ADDRESS, "192.0.2.7", ["192.0.2.7"], 1),
    ("10.", addresses.ADDRESS, "10.", ["10."], 1 << 24),
    ("192.168.", addresses.ADDRESS, "192.168.", ["192.168."], 1 << 16),
    ("10.1-3.", addresses.ADDRESS, "10.1-3.", ["10.1.", "10.2.", "10.3."], 3 << 16),
    ("192.0.2.10-12", addresses.ADDRESS, "192.0.2.10-12", ["192.0.2.10", "192.0.2.11", "192.0.2.12"], 3),
    ("1-2.0.0.1", addresses.ADDRESS, "1-2.0.0.1", ["1.0.0.1", "2.0.0.1"], 2),
    ("10.0.0.0/8", addresses.ADDRESS, "10.", ["10."], 1 << 24),
    ("10.0.0.0/7", addresses.ADDRESS, "10-11.", ["10.", "11."], 1 << 25),
    ("192.0.2.4/30", addresses.ADDRESS, "192.0.2.4-7", ["192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7"], 4),
])
def test_forms(match, kind, text, keys, count):
    assert addresses.parse(match) == addresses.Match(kind, text, keys, count)


@pytest.mark.parametrize("match, message", [
    (None, "null is not a match; write ''"),
    (127.0, "127.0 must be a string (in YAML, quote prefixes"),
    ("127.0", "neither a full IPv4 address nor a prefix"),
    ("0.0.0.\u00b2", "contains '\u00b2': tcpserver compares plain ASCII text"),
    ("0.0.0.\u0660", "contains '\u0660'"),
    ("10.0.0.1\n", "NUL byte or a line break"),
    ("10.0.0.1-\x005", "NUL byte or a line break"),
    ("10.\ud800", "contains '\\ud800'"),
    ("10.0.0.1-" + "9" * 5000, "a 5000-digit number is not a number from 0 to 255"),
    ("192.0.2.1/24", "host bits set; the network is 192.0.2.0/24"),
    ("192.0.2.0/08", "not an IPv4 network"),
    ("192.0.2.0/33", "not an IPv4 network"),
    ("010.", "leading zero"),
    ("10.0.0.01-3", "leading zero"),
    ("10.9-3.", "the range 9-3 is empty"),
    ("10.1-3.4-5", "range in one octet only"),
    ("1.2.3.4.", "more than four octets"),
    ("10..1.", "empty octet"),
    ("mail-1.example.com", "write '=mail-1.example.com'"),
    ("=mail.example.com.", "ends with a dot"),
    ("=.", "is not a host name"),
    ("=a..b", "is not a host name"),
    ("::1", "IPv6 is not supported"),
    ("joe@192.0.2.1", "TCPREMOTEINFO"),
    ("10.0.0.1,X", "contains ','"),
])
def test_refusals_name_the_field_the_match_and_the_reason(match, message):
    with pytest.raises(ValidationError) as info:
        addresses.parse(match, "smtpd_relay_clients[0]")
    text = str(info.value)
    assert text.startswith("smtpd_relay_clients[0]: ") and message in text
    assert repr(match) in text or match is None
