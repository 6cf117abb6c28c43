# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control files are written exactly as qmail reads them.

The reader models (read_int, read_line, read_list, read_ipme) restate qmail's C readers; the
properties say that for any value the writer either refuses it or writes text the model reads
back as exactly the value meant.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import control, flavours

# Every character hypothesis knows, lone surrogates included, plus the ones qmail's readers treat
# specially and a few that Python alone treats as digits or line breaks.
CHAR = st.one_of(st.characters(exclude_categories=()),
                 st.sampled_from(" \t#\n\r\x00\x0b\x0c\x85\u2028\u00a0\u0661\uff15/.@:0123456789"))
TEXT = st.text(CHAR, max_size=12)
HOSTISH = st.from_regex(r"\A[#\t ]?[a-z0-9]{1,6}(\.[a-z0-9]{1,6}){0,2}[\t ]{0,2}\Z")
ANY_SCALAR = st.one_of(TEXT, HOSTISH, st.integers(-2 ** 70, 2 ** 70), st.booleans(), st.floats())

INT_NAMES_ALL = sorted(n for n, e in control.CATALOGUE.items() if e[0] == control.INTEGER)
# The property tests write each file on a flavour that reads it.
LINE_NAMES = sorted(n for n, e in control.CATALOGUE.items() if e[0] == control.SINGLE)
LIST_NAMES = sorted(n for n, e in control.CATALOGUE.items() if e[0] == control.LIST)
ASCII_DIGITS = re.compile(r"\A[0-9]+\Z")
DOTTED = r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})"
NOTIPME_ENTRY = re.compile(r"\A%s(?:/%s)?\Z" % (DOTTED, DOTTED))


def flavour_for(name):
    """A flavour that has the file's feature, trying the default first."""
    feature = control.CATALOGUE[name][3]
    names = [flavours.DEFAULT_FLAVOUR] + sorted(flavours.FLAVOURS)
    return next((f for f in names if feature is None or flavours.supports(f, feature)), None)


INT_NAMES = [name for name in INT_NAMES_ALL if flavour_for(name)]


def written(name, value, flavour=None):
    """The bytes the writer produces for `value`, or None when it refuses it."""
    try:
        entries, _warnings = control.plan("/c", {name: value}, flavour or flavour_for(name))
    except control.ControlError:
        return None
    return entries[0]["content"]


def test_the_catalogue_has_the_eleven_integer_files():
    assert INT_NAMES_ALL == sorted([
        "bouncemaxbytes", "concurrencyincoming", "concurrencylocal", "concurrencyremote",
        "databytes", "queuelifetime", "rejectrelaytest", "tarpitcount", "tarpitdelay", "timeoutconnect",
        "timeoutremote", "timeoutsmtpd"])


def test_files_no_known_flavour_reads_are_refused_everywhere():
    # tarpit* come from a patch none of the known flavours carries: writing them would do nothing.
    for flavour in flavours.FLAVOURS:
        with pytest.raises(control.ControlError, match="tarpitcount"):
            control.plan("/c", {"tarpitcount": 5}, flavour)


# The models, against what the C code does (notqmail control.c, scan_ulong.c, getln.c;
# sagredo ipme.c, ip.c).

@pytest.mark.parametrize("data, number", [
    (b"20000000\n", 20000000), (b"005\n", 5), (b"1_000\n", 1), (b"12abc\n", 12), (b"7 \t\n", 7),
    (b"+5\n", None), (b" 5\n", None), (b"-1\n", None), (b"\xd9\xa1\xd9\xa2\n", None),
    (b"", None), (None, None), (b"\n5\n", None), (b"42", 42),
    (b"2147483647\n", 2147483647), (b"2147483648\n", -2147483648), (b"4294967296\n", 0),
    (b"18446744073709551621\n", 5),
])
def test_read_int_is_scan_ulong_into_an_int(data, number):
    assert control.read_int(data) == number


@pytest.mark.parametrize("data, line", [
    (b"mail.example.com\n", b"mail.example.com"), (b"x \t \n", b"x"), (b" \n", b""),
    (b"", b""), (b"a\nb\n", b"a"), (b" lead\n", b" lead"), (b"cr\r\n", b"cr\r"),
    (b"nbsp\xc2\xa0\n", b"nbsp\xc2\xa0"), (None, None),
])
def test_read_line_takes_the_first_line_without_trailing_blanks(data, line):
    assert control.read_line(data) == line


@pytest.mark.parametrize("data, entries", [
    (b"a\nb\n", [b"a", b"b"]), (b"a \t\n\n \n#c\n d\ne", [b"a", b" d", b"e"]),
    (b"x\x00y\n\x00z\n", [b"x", b"y"]), (b"", []), (None, None),
])
def test_read_list_skips_empty_and_comment_lines(data, entries):
    assert control.read_list(data) == entries


ONES = (255, 255, 255, 255)


@pytest.mark.parametrize("data, entries", [
    (b"127.0.0.1\n", [((127, 0, 0, 1), ONES)]),
    (b"127.0.0.0/255.0.0.0\n", [((127, 0, 0, 0), (255, 0, 0, 0))]),
    (b"127.0.0.0/8\n\n#x\n10.0.0.1 junk\n", [((10, 0, 0, 1), ONES)]),
    (b"10.0.0.12", [((10, 0, 0, 1), ONES)]),
    (b"300.0.0.1\n", [((44, 0, 0, 1), ONES)]), (None, None),
])
def test_read_ipme_needs_dotted_masks_and_drops_each_lines_last_byte(data, entries):
    assert control.read_ipme(data) == entries


# The writer against the examples: each of these was accepted before.

@pytest.mark.parametrize("name, value, flavour, message", [
    ("databytes", "1_000", "notqmail", "files.databytes: '1_000' is not a plain decimal number"),
    ("databytes", "1_000", "notqmail", "qmail would read 1"),
    ("databytes", "+5", "notqmail", "keep its default"),
    ("databytes", " 5", "notqmail", "keep its default"),
    ("databytes", "\u0661\u0662", "notqmail", "keep its default"),
    ("databytes", "5 ", "notqmail", "qmail would read 5"),
    ("databytes", 2 ** 31, "notqmail", "outside 0..2147483647"),
    ("timeoutremote", "2" * 5000, "notqmail", "far too large"),
    pytest.param("queuelifetime", 10 ** 5000, "notqmail", "-bit number is outside",
                 id="an int Python cannot print"),
    ("concurrencyremote", "\uff15", "notqmail", "not a plain decimal number"),
    ("smtpgreeting", " ", "notqmail", "it would read '' (qmail strips trailing spaces and tabs)"),
    ("smtpgreeting", "x  ", "notqmail", "it would read 'x'"),
    ("me", "mail.example.com\t", "notqmail", "files.me: 'mail.example.com\\t' would not reach"),
    ("defaultdelivery", "#./Maildir/", "notqmail", "no delivery"),
    ("badmailfrom", ["@ok.example", "#x"], "gentoo", "files.badmailfrom[1]: '#x' would not reach"),
    ("badmailto", ["#x"], "gentoo", "for a comment"),
    ("badrcptto", ["#x@example.com"], "gentoo", "for a comment"),
    ("morebadrcptto", ["#x@example.com"], "gentoo", "for a comment"),
    ("badmailfrom", ["@spam.example "], "notqmail", "strips trailing spaces"),
    ("notipme", [""], "sagredo", "files.notipme[0]: '' is not an IPv4 address"),
    ("notipme", ["127.0.0.0/8"], "sagredo", "prefix length"),
    ("notipme", ["\u0661.0.0.1"], "sagredo", "notipme[0]"),
])
def test_values_qmail_would_read_differently_are_refused(name, value, flavour, message):
    with pytest.raises(control.ControlError) as info:
        control.plan("/c", {name: value}, flavour)
    assert message in str(info.value)


@pytest.mark.parametrize("name, value, flavour, content", [
    ("databytes", "005", "notqmail", b"5\n"), ("databytes", 0, "notqmail", b"0\n"),
    ("databytes", "2147483647", "notqmail", b"2147483647\n"),
    ("smtpgreeting", " mail.example.com ESMTP", "notqmail", b" mail.example.com ESMTP\n"),
    ("notipme", ["127.0.0.1", "127.0.0.0/255.0.0.0"], "sagredo",
     b"127.0.0.1\n127.0.0.0/255.0.0.0\n"),
    ("badmailfrom", ["!@good.example", "x#y@example.com"], "gentoo",
     b"!@good.example\nx#y@example.com\n"),
])
def test_values_qmail_reads_as_written_are_normalised(name, value, flavour, content):
    assert written(name, value, flavour) == content


# Properties: refused, or read back by the model as exactly the value meant.

@settings(max_examples=400, deadline=None)
@given(st.sampled_from(INT_NAMES), ANY_SCALAR)
def test_integer_files_read_back_the_number_meant(name, value):
    content = written(name, value)
    if content is not None:
        meant = int(value)
        assert isinstance(value, int) or ASCII_DIGITS.match(value)
        assert not isinstance(value, bool)
        assert content == b"%d\n" % meant and control.read_int(content) == meant


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(INT_NAMES), st.integers(1, 255), st.integers(0, 3), st.booleans())
def test_integer_files_take_every_plain_number_in_range(name, number, zeros, as_text):
    value = "0" * zeros + str(number) if as_text else number
    assert written(name, value) == b"%d\n" % number


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(LINE_NAMES), st.one_of(TEXT, HOSTISH))
def test_one_line_files_read_back_the_text_meant(name, value):
    content = written(name, value)
    if content is not None:
        assert content == value.encode("utf-8") + b"\n"
        assert control.read_line(content) == value.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_smtpgreeting_takes_any_text_qmail_keeps(value):
    assume(not any(char in value for char in "\n\r\x00"))
    assume(not value.endswith((" ", "\t")))
    assume(not any(0xD800 <= ord(char) <= 0xDFFF for char in value))
    assert written("smtpgreeting", value) == value.encode("utf-8") + b"\n"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(LIST_NAMES), st.sampled_from(sorted(flavours.FLAVOURS)),
       st.lists(st.one_of(TEXT, HOSTISH, st.from_regex(r"\A[#!]?[a-z]{0,3}@[a-z]{1,5}\.example[ ]?\Z")),
                max_size=4))
def test_list_files_read_back_the_entries_meant(name, flavour, entries):
    content = written(name, entries, flavour)
    if content is not None:
        assert control.read_list(content) == [entry.encode("utf-8") for entry in entries]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(TEXT, st.from_regex(r"\A[0-9\u0661]{1,4}(\.[0-9]{1,4}){3}(/[0-9.]{1,15})?\s?\Z")),
                max_size=3))
def test_notipme_reads_back_the_addresses_meant(entries):
    content = written("notipme", entries, "sagredo")
    if content is not None:
        meant = []
        for entry in entries:
            match = NOTIPME_ENTRY.match(entry)
            assert match
            quads = [int(part) for part in match.groups() if part is not None] + [255] * 4
            meant.append((tuple(quads[:4]), tuple(quads[4:8])))
        assert control.read_ipme(content) == meant


JSONISH = st.recursive(st.one_of(st.none(), ANY_SCALAR, st.integers()),
                       lambda inner: st.one_of(st.lists(inner, max_size=3),
                                               st.dictionaries(TEXT, inner, max_size=2)),
                       max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(sorted(control.CATALOGUE)), TEXT), JSONISH,
                       max_size=3),
       st.sampled_from(sorted(flavours.FLAVOURS)),
       st.one_of(st.none(), st.dictionaries(TEXT, st.one_of(TEXT, st.integers()), max_size=2)))
def test_plan_refuses_with_control_error_and_nothing_else(files, flavour, variables):
    try:
        control.plan("/c", files, flavour, variables=variables)
    except control.ControlError as exc:
        assert str(exc)
