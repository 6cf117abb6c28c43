# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate's grammars of network values: IPv4 addresses, ports, host names or literals, and
environment variable names. Each accepts exactly the text its C readers take the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import subprocess

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

PROPERTY = settings(max_examples=300, deadline=None)
NUMBERISH = st.one_of(
    st.integers(-5, 300000).map(str),
    st.text(alphabet=st.sampled_from(list("0123456789.-+ \n\t_\u00b2\u0660\u0663\ud800e")), max_size=8),
)


def canonical_ipv4(text):
    """The dotted quad ip4_fmt() writes for that address, or None."""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return None
    return str(address)


@PROPERTY
@given(st.one_of(st.lists(NUMBERISH, min_size=1, max_size=5).map(".".join), st.text(max_size=16)))
@example("192.0.2.1")
@example("192.0.2.1\n")
@example("010.0.0.1")
@example("0.0.0.\u00b2")
@example("0.0.0.\u0660")
@example("1.2.3.4" + "0" * 5000)
def test_ipv4_accepts_exactly_the_addresses_as_tcpserver_writes_them(text):
    expected = canonical_ipv4(text) == text
    try:
        assert validate.ipv4(text, "relay") == text and expected
    except ValidationError as exc:
        assert not expected
        assert str(exc).startswith("relay: %r is not an IPv4 address" % text)
    assert validate.is_ipv4(text) == expected


@PROPERTY
@given(st.one_of(NUMBERISH, st.integers(), st.floats(), st.booleans(), st.none()))
@example("25\n")
@example(" 25")
@example("025")
@example("+25")
@example("2_5")
@example("\u0662\u0665")
@example(float("inf"))
@example("inf")
@example(10 ** 5000)
@example("9" * 5000)
def test_port_is_a_number_from_1_to_65535_in_ascii_digits(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        expected = None
    elif isinstance(value, int):
        expected = value if 1 <= value <= 65535 else None
    else:
        expected = int(value) if re.match(r"\A[1-9][0-9]{0,4}\Z", value) and int(value) <= 65535 else None
    try:
        number = validate.port(value, "smtpd_port")
        assert expected is not None and number == expected
    except ValidationError as exc:
        assert expected is None
        assert str(exc).startswith("smtpd_port: ") and "is not a port number from 1 to 65535" in str(exc)


@pytest.mark.parametrize("value, accepted", [
    ("[192.0.2.1]", True), ("192.0.2.1", True), ("mx.example.com", True), ("mx-1.example.com.", True),
    ("[192.0.2.1\n]", False), ("[0.0.0.\u00b2]", False), ("0.0.0.\u00b2", False), ("010.0.0.1", False),
    ("1.2.3", False), ("mx.example.com\n", False), ("[mx.example.com]", False), (None, False),
])
def test_host_or_literal(value, accepted):
    if accepted:
        assert validate.host_or_literal(value, "relay") == value
    else:
        with pytest.raises(ValidationError, match=r"^relay: "):
            validate.host_or_literal(value, "relay")


def sh_exports(name):
    """Whether the shell (dash, which reads the conf-* files) takes the name in `export NAME=x`."""
    if "=" in name or "\x00" in name:  # an environment entry is NAME=value, a C string
        return False
    try:
        argument = name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return subprocess.run(["sh", "-c", 'export -- "$1=x" 2>/dev/null', "sh", argument],
                          env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}, check=False).returncode == 0


@PROPERTY
@given(st.one_of(st.from_regex(r"\A[A-Za-z0-9_]{1,8}\Z"), st.text(max_size=8)))
@example("RELAYCLIENT")
@example("RELAYCLIENT\n")
@example("1X")
@example("\u00c9T\u00c9")
@example("X\x00")
@example("A=B")
@example("X\ud800")
def test_env_name_is_what_the_shell_exports(name):
    expected = sh_exports(name)
    try:
        assert validate.env_name(name, "smtpd_env") == name and expected
    except ValidationError as exc:
        assert not expected
        assert str(exc).startswith("smtpd_env: %r is not an environment variable name" % name)
