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
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValidationError(
            "%s: %r is not a host name (dot-separated labels of letters, digits, '-' and '_'%s)"
            % (field, value, ", optionally starting with '.'" if allow_leading_dot else ""))
    return value


def ipv4(value, field):
    """A dotted-quad IPv4 address."""
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise ValidationError("%s: %r is not an IPv4 address such as 192.0.2.1" % (field, value))
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
    if isinstance(value, str) and value.replace(".", "").isdigit():
        return ipv4(value, field)
    try:
        return hostname(value, field)
    except ValidationError:
        raise ValidationError("%s: %r is neither a host name, an IPv4 address nor an IPv4 literal "
                              "such as [192.0.2.1]" % (field, value))


def port(value, field):
    """A TCP port 1..65535 (int or digit string)."""
    if isinstance(value, bool):
        raise ValidationError("%s: %r is not a port number from 1 to 65535" % (field, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError("%s: %r is not a port number from 1 to 65535" % (field, value))
    if str(number) != str(value).strip() or not 1 <= number <= 65535:
        raise ValidationError("%s: %r is not a port number from 1 to 65535" % (field, value))
    return number


def integer(value, field, minimum=None, maximum=None, why=""):
    """An integer (int or digit string) within [minimum, maximum]."""
    if isinstance(value, bool):
        number = None
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
    if number is None:
        raise ValidationError("%s: %r is not an integer" % (field, value))
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValidationError("%s: %r is outside %s..%s%s"
                              % (field, value, "" if minimum is None else minimum,
                                 "" if maximum is None else maximum, why))
    return number


def single_line(value, field):
    """Text for one line of a file: no newline, carriage return or NUL."""
    if not isinstance(value, str):
        raise ValidationError("%s: %r must be a string" % (field, value))
    if any(char in value for char in "\n\r\x00"):
        raise ValidationError("%s: %r contains a line break or NUL; one line is accepted"
                              % (field, value))
    return value
