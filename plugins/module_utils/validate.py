# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validators shared by the modules: each raises ValidationError naming the field, the value and
what would be accepted, and returns the normalised value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_LABEL = re.compile(r"\A[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


class ValidationError(ValueError):
    """A value that a qmail file cannot hold; the message names the field and the value."""


def hostname(value, field, allow_leading_dot=False):
    """A host or domain name: dot-separated labels of letters, digits, '-' and '_'.

    With allow_leading_dot, '.example.com' (every subdomain) is accepted too.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError("%s: %r is not a host name such as mail.example.com" % (field, value))
    name = value[1:] if allow_leading_dot and value.startswith(".") else value
    if name.endswith("."):
        name = name[:-1]
    if len(name) > 253 or any(len(label) > 63 for label in name.split(".")):
        raise ValidationError("%s: %r is too long for a host name (at most 253 characters, 63 between dots)"
                              % (field, value))
    if not name or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValidationError(
            "%s: %r is not a host name (dot-separated labels of letters, digits, '-' and '_'%s)%s"
            % (field, value, ", optionally starting with '.'" if allow_leading_dot else "", _punycode_hint(value)))
    return value


def _punycode_hint(value):
    """For an internationalised name, the ASCII form qmail needs, as a hint."""
    if value.isascii():
        return ""
    try:
        return "; qmail needs the ASCII (punycode) form: %r" % value.encode("idna").decode("ascii")
    except UnicodeError:
        return ""


# One IPv4 octet as tcpserver and qmail write it: 0..255 in the ASCII digits, no leading zero.
# int() and str.isdigit() would take non-ASCII digits ('²', '٠') that no C reader takes.
IPV4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_OCTET = re.compile(r"\A%s\Z" % IPV4_OCTET)
_DIGITS_AND_DOTS = re.compile(r"\A[0-9.]+\Z")
_PORT = re.compile(r"\A[1-9][0-9]{0,4}\Z")
# An environment variable name as sh, envdir and tcpserver's rules all take it.
ENV_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


def ipv4_octet(text):
    """The number an IPv4 octet's text stands for, or None when it is not one (see _OCTET)."""
    return int(text) if isinstance(text, str) and _OCTET.match(text) else None


def ipv4(value, field):
    """A dotted-quad IPv4 address: four octets 0..255 in ASCII digits, without leading zeros."""
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) != 4 or any(ipv4_octet(part) is None for part in parts):
        raise ValidationError("%s: %r is not an IPv4 address such as 192.0.2.1 (four numbers 0 to "
                              "255 in the digits 0-9, without leading zeros)" % (field, value))
    return value


def is_ipv4(value):
    try:
        ipv4(value, "")
    except ValidationError:
        return False
    return True


def host_or_literal(value, field):
    """A host name, an IPv4 address or an IPv4 literal in brackets ([192.0.2.1])."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        ipv4(value[1:-1], field)
        return value
    if isinstance(value, str) and _DIGITS_AND_DOTS.match(value):
        return ipv4(value, field)
    try:
        return hostname(value, field)
    except ValidationError:
        raise ValidationError("%s: %r is neither a host name, an IPv4 address nor an IPv4 literal "
                              "such as [192.0.2.1]" % (field, value))


def port(value, field):
    """A TCP port 1..65535: an int, or a string of ASCII digits without sign, space or leading zero."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        number = None
    elif isinstance(value, str):
        number = int(value) if _PORT.match(value) else None
    else:
        number = value
    if number is None or not 1 <= number <= 65535:
        # A huge int has no repr() (Python refuses more than 4300 digits): show its size instead.
        shown = repr(value) if not isinstance(value, int) or value.bit_length() <= 64 \
            else "a %d-bit number" % value.bit_length()
        raise ValidationError("%s: %s is not a port number from 1 to 65535" % (field, shown))
    return number


def env_name(value, field):
    """An environment variable name: letters, digits and '_', not starting with a digit."""
    if not isinstance(value, str) or not ENV_NAME.match(value):
        raise ValidationError("%s: %r is not an environment variable name (letters A-Z a-z, digits "
                              "0-9 and '_', not starting with a digit)" % (field, value))
    return value


def integer(value, field, minimum=None, maximum=None, why=""):
    """An integer within [minimum, maximum]: an int, or a string of ASCII digits 0-9 with an
    optional leading '-'.

    int() would also take ' 5', '+5', '1_000' and non-ASCII digits such as '١٢'; the C readers
    of qmail's files (scan_ulong) read none of them as the same number, so neither do we.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError("%s: %r is not a whole number (an integer or a string of digits 0-9)"
                              % (field, value))
    if isinstance(value, str):
        digits = value[1:] if value.startswith("-") else value
        if not (digits.isascii() and digits.isdigit()):
            raise ValidationError("%s: %r is not a plain decimal number (digits 0-9 only, such as 1000)"
                                  % (field, value))
        try:
            number = int(value)
        except ValueError:
            # Python refuses to convert strings of more than 4300 digits.
            raise ValidationError("%s: a number of %d digits is far too large" % (field, len(digits)))
    else:
        number = value
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        # repr() of an int of more than 4300 digits raises ValueError, so huge ones get described.
        shown = repr(value) if number.bit_length() <= 64 else "a %d-bit number" % number.bit_length()
        raise ValidationError("%s: %s is outside %s..%s%s"
                              % (field, shown, "" if minimum is None else minimum,
                                 "" if maximum is None else maximum, why))
    return number


def single_line(value, field):
    """Text for one line of a file: no newline, carriage return or NUL, and encodable as UTF-8."""
    if not isinstance(value, str):
        raise ValidationError("%s: %r must be a string" % (field, value))
    if any(char in value for char in "\n\r\x00"):
        raise ValidationError("%s: %r contains a line break or NUL; one line is accepted"
                              % (field, value))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("%s: %r contains %r, a lone surrogate that no UTF-8 file can hold; "
                              "text of real characters is accepted"
                              % (field, value, value[exc.start:exc.end]))
    return value


def collect(found, check, *args):
    """Run check(*args); its refusal (a ValidationError) is appended to found as its message.

    The checks that judge a role's variables report every refusal at once with this."""
    try:
        check(*args)
    except ValidationError as exc:
        found.append(str(exc))
