# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client address forms of ucspi-tcp's rules (tcprules, tcpserver -x), parsed once.

tcpserver (ucspi-tcp 0.88, IPv4 only) looks a client up by exact text: first its address
(``192.0.2.7``), then ``=`` and its host name, then each prefix of the address ending in a dot
(``192.0.2.``, ``192.0.``, ``192.``), then ``=`` and each suffix of the name starting at a dot
(``=.example.com``), then ``=`` alone (any client whose address has a name), and last the empty key.
The name is the client's PTR record as djbdns writes it: lower case, without a trailing dot.

tcprules stores the text before a rule's first colon as the key, except that a key without ``=``
and ``@`` holding a ``-`` is a range in one octet: ``10.1-3.`` stores ``10.1.``, ``10.2.`` and
``10.3.``.

So a key that is not written exactly as tcpserver writes addresses and names (a leading zero,
a digit outside ASCII, an upper-case letter, a trailing dot) is stored and never matches. parse()
accepts only forms whose every key can match, and says why it refuses the others.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

ADDRESS = "address"
NAME = "name"
DEFAULT = "default"
ALL_ADDRESSES = 1 << 32

Match = collections.namedtuple("Match", ["kind", "text", "keys", "addresses"])
Match.__doc__ = """One parsed rule match.

kind: ADDRESS (an IPv4 address, prefix or range), NAME (a rule on the client's host name) or
DEFAULT (the empty match: every client).
text: the match as the rules file holds it (a CIDR network becomes a prefix or a range, a name
is lower-cased).
keys: the CDB keys tcprules stores for that text, in its order.
addresses: how many IPv4 addresses the match covers (ALL_ADDRESSES for DEFAULT), None for NAME.
"""

# Full addresses and prefixes without a range, most of a large rule set, recognised in one step.
_PLAIN = re.compile(r"\A(?:(?:{0}\.){{3}}{0}|(?:{0}\.){{1,3}})\Z".format(validate.IPV4_OCTET))
# Characters of every accepted form; anything else is refused before the form is looked at.
_FORM_CHARACTERS = re.compile(r"\A[A-Za-z0-9_.=/-]*\Z")
_RANGE = re.compile(r"\A([^-]*)-([^-]*)\Z")
_PREFIX_LENGTH = re.compile(r"\A(?:[0-9]|[12][0-9]|3[0-2])\Z")
_DIGITS = re.compile(r"\A[0-9]+\Z")
_LETTERS = re.compile(r"[A-Za-z_]")
_YAML_HINT = "in YAML, quote prefixes: '127.' unquoted is the number 127.0"


def parse(match, field="match"):
    """Parse one rule match and return a Match; raise ValidationError naming field and match.

    Accepted: '' (every client), '=' (any client whose address has a name), '=host.example.com',
    '=.example.com' (any name under the domain), an IPv4 address ('192.0.2.1'), a prefix ending in
    a dot ('192.0.2.', '10.'), either with a range in one octet ('192.0.2.10-20', '10.1-3.'), and
    a CIDR network ('192.0.2.0/25', written as the prefix or range tcprules understands).
    """
    if match is None:
        raise ValidationError("%s: null is not a match; write '' for the rule every client matches"
                              % field)
    if not isinstance(match, str):
        raise ValidationError("%s: %r must be a string (%s)" % (field, match, _YAML_HINT))
    if _PLAIN.match(match):
        dots = match.count(".")
        return Match(ADDRESS, match, [match], 256 ** (4 - dots) if match.endswith(".") else 1)
    _check_characters(match, field)
    if match == "":
        return Match(DEFAULT, "", [""], ALL_ADDRESSES)
    if match.startswith("="):
        return _name(match, field)
    if "/" in match:
        return _cidr(match, field)
    return _dotted(match, field, match)


def _check_characters(match, field):
    if _FORM_CHARACTERS.match(match):
        return
    if any(char in match for char in "\x00\n\r"):
        raise ValidationError("%s: %r contains a NUL byte or a line break, which would break the "
                              "rules file" % (field, match))
    if ":" in match:
        raise ValidationError("%s: %r contains a colon, which ends the address in the rules file "
                              "(IPv6 is not supported by ucspi-tcp 0.88's tcpserver)" % (field, match))
    if "@" in match:
        raise ValidationError("%s: %r: TCPREMOTEINFO rules (user@address) are not supported"
                              % (field, match))
    odd = next(char for char in match if not _FORM_CHARACTERS.match(char))
    if not odd.isascii():
        raise ValidationError("%s: %r contains %r: tcpserver compares plain ASCII text, so write "
                              "addresses with the digits 0-9 and names in ASCII (punycode)"
                              % (field, match, odd))
    raise ValidationError("%s: %r contains %r; a match holds only an IPv4 address, prefix, range or "
                          "CIDR network, '=' with a host name, or nothing (whitespace, ',' and other "
                          "punctuation would break the rules file)" % (field, match, odd))


def _name(match, field):
    name = match[1:]
    if name:
        try:
            validate.hostname(name, field, allow_leading_dot=True)
        except ValidationError:
            raise ValidationError("%s: %r: %r is not a host name (dot-separated labels of letters, "
                                  "digits, '-' and '_', optionally starting with '.')"
                                  % (field, match, name))
        if name.endswith("."):
            raise ValidationError("%s: %r ends with a dot; tcpserver looks the client's name up "
                                  "without it, so the rule would never match" % (field, match))
    text = match.lower()
    return Match(NAME, text, [text], None)


def _cidr(match, field):
    base, _slash, length = match.partition("/")
    if not validate.is_ipv4(base) or not _PREFIX_LENGTH.match(length):
        raise ValidationError("%s: %r is not an IPv4 network such as 192.0.2.0/24 (an address with "
                              "octets 0 to 255 without leading zeros, '/', a length 0 to 32)"
                              % (field, match))
    bits = int(length)
    number = 0
    for octet in base.split("."):
        number = number * 256 + int(octet)
    host_bits = (1 << (32 - bits)) - 1
    if number & host_bits:
        network = number & ~host_bits
        raise ValidationError("%s: %r has host bits set; the network is %s/%d"
                              % (field, match, ".".join(str(network >> shift & 255)
                                                        for shift in (24, 16, 8, 0)), bits))
    full, partial = divmod(bits, 8)
    octets = [str(number >> shift & 255) for shift in (24, 16, 8, 0)][:full]
    if partial:
        low = number >> (24 - 8 * full) & 255
        octets.append("%d-%d" % (low, low + (1 << (8 - partial)) - 1))
    if len(octets) == 4:
        text = ".".join(octets)
    else:
        text = "".join(octet + "." for octet in octets)
    if text == "":
        return Match(DEFAULT, "", [""], ALL_ADDRESSES)
    return _dotted(text, field, match)


def _octet(text, field, match):
    number = validate.ipv4_octet(text)
    if number is not None:
        return number
    if text == "":
        raise ValidationError("%s: %r has an empty octet" % (field, match))
    if _DIGITS.match(text):
        if len(text) > 1 and text.startswith("0"):
            raise ValidationError("%s: %r: %r has a leading zero and would never match (tcpserver "
                                  "looks up addresses as 192.0.2.1, never 192.000.002.001)"
                                  % (field, match, text))
        raise ValidationError("%s: %r: %s is not a number from 0 to 255"
                              % (field, match, text if len(text) <= 20 else "a %d-digit number" % len(text)))
    raise ValidationError("%s: %r: %r is not a number from 0 to 255" % (field, match, text))


def _dotted(text, field, match):
    """An address or a prefix, with at most one octet a range; match is what the user wrote."""
    if _LETTERS.search(text) and _is_hostname(text):
        raise ValidationError("%s: %r looks like a host name; write '=%s' to match the name "
                              "the client's address resolves to" % (field, match, text))
    prefix = text.endswith(".")
    parts = (text[:-1] if prefix else text).split(".")
    if len(parts) > 4 or (len(parts) == 4 and prefix):
        raise ValidationError("%s: %r has more than four octets" % (field, match))
    ranges = [index for index, part in enumerate(parts) if "-" in part]
    if len(ranges) > 1:
        raise ValidationError("%s: %r: tcprules allows a range in one octet only" % (field, match))
    if not prefix and len(parts) != 4:
        raise ValidationError("%s: %r is neither a full IPv4 address nor a prefix ending in '.' "
                              "(%s)" % (field, match, _YAML_HINT))
    for part in parts:
        found = _RANGE.match(part)
        if not found:
            _octet(part, field, match)
        elif _octet(found.group(1), field, match) > _octet(found.group(2), field, match):
            raise ValidationError("%s: %r: the range %s is empty" % (field, match, part))
    keys = _range_keys(parts, ranges, prefix)
    covered = len(keys) * 256 ** (4 - len(parts)) if prefix else len(keys)
    return Match(ADDRESS, text, keys, covered)


def _is_hostname(text):
    try:
        validate.hostname(text, "")
    except ValidationError:
        return False
    return True


def _range_keys(parts, ranges, prefix):
    """The keys tcprules stores: one per number of the range octet, each written in decimal."""
    tail = "." if prefix else ""
    if not ranges:
        return [".".join(parts) + tail]
    index = ranges[0]
    low, high = (int(number) for number in parts[index].split("-"))
    return [".".join(parts[:index] + [str(number)] + parts[index + 1:]) + tail
            for number in range(low, high + 1)]
