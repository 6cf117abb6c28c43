# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The control-file catalogue: rendering, validation per file and flavour, effects, pruning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import control


def contents(files, flavour="notqmail", prune=False, listdir=None):
    kwargs = {"listdir": listdir} if listdir else {}
    entries, warnings = control.plan("/c", files, flavour, prune, **kwargs)
    return dict((e["name"], e["content"]) for e in entries), warnings


def test_single_list_and_absent_files():
    result, warnings = contents({"me": "mail.example.com", "databytes": 20000000,
                                 "locals": ["example.com", "mail.example.com"], "rcpthosts": [],
                                 "badmailfrom": None, "plusdomain": "example.com"})
    assert result == {"me": b"mail.example.com\n", "databytes": b"20000000\n",
                      "locals": b"example.com\nmail.example.com\n", "rcpthosts": b"",
                      "badmailfrom": None, "plusdomain": b"example.com\n"}
    assert warnings == []


def test_a_string_for_a_list_file_is_one_entry():
    assert contents({"rcpthosts": "example.com"})[0] == {"rcpthosts": b"example.com\n"}


def test_unknown_names_are_written_with_a_warning():
    result, warnings = contents({"spfbehavior": 3, "mylist": ["a", "b"]})
    assert result == {"spfbehavior": b"3\n", "mylist": b"a\nb\n"}
    assert len(warnings) == 2 and "spfbehavior" in warnings[0]


@pytest.mark.parametrize("flavour, value, ok", [
    ("notqmail", 255, True), ("notqmail", 256, False), ("notqmail", 0, False),
    ("gentoo", 500, True), ("gentoo", 65000, True), ("gentoo", 65001, False),
    ("sagredo", "120", True), ("jms", "many", False),
])
def test_concurrency_limits_follow_the_flavour(flavour, value, ok):
    if ok:
        contents({"concurrencyremote": value}, flavour)
    else:
        with pytest.raises(control.ControlError, match="files.concurrencyremote"):
            contents({"concurrencyremote": value}, flavour)


def test_concurrency_error_explains_the_missing_patch():
    with pytest.raises(control.ControlError, match="lacks big-concurrency"):
        contents({"concurrencylocal": 300}, "sagredo")


@pytest.mark.parametrize("files, flavour, message", [
    ({"me": "bad host!"}, "notqmail", "files.me: 'bad host!' is not a host name"),
    ({"me": ["a.example", "b.example"]}, "notqmail", "holds one value"),
    ({"me": True}, "notqmail", "holds one value"),
    ({"smtpgreeting": "two\nlines"}, "notqmail", "line break"),
    ({"locals": ["ok.example", "bad..example"]}, "notqmail", "files.locals[1]: 'bad..example'"),
    ({"locals": [["nested"]]}, "notqmail", "must be a string"),
    ({"locals": {"a": 1}}, "notqmail", "holds a list"),
    ({"rcpthosts": ["example.com:25"]}, "notqmail", "not a host name"),
    ({"virtualdomains": ["example.com"]}, "notqmail", "lacks the ':'"),
    ({"virtualdomains": ["ex ample.com:joe"]}, "notqmail", "not a host name"),
    ({"virtualdomains": ["example.com:jo e"]}, "notqmail", "whitespace"),
    ({"databytes": -1}, "notqmail", "outside 0.."),
    ({"databytes": "1e6"}, "notqmail", "files.databytes: '1e6' is not a plain decimal number"),
    ({"timeoutremote": 0}, "notqmail", "outside 1.."),
    ({"badmailfrom": ["spammer"]}, "notqmail", "neither user@domain nor @domain"),
    ({"badmailfrom": ["(unclosed"]}, "gentoo", "not a valid regular expression"),
    ({"badmailto": ["x@y"]}, "notqmail", "badmailto needs"),
    ({"badrcptto": ["x@y"]}, "jms", "badrcptto needs"),
    ({"bouncemaxbytes": 1000}, "notqmail", "bouncemaxbytes needs"),
    ({"bouncefrom": "a@b"}, "notqmail", "not a mailbox name"),
    ({"doublebounceto": "a b"}, "notqmail", "files.doublebounceto: 'a b' is not a mailbox name"),
    ({"smtproutes": [":relay"]}, "notqmail", "mailops.qmail.smtproutes"),
    ({"../etc/passwd": "x"}, "notqmail", "not a plain file name"),
    ({"me": "mail.example.com"}, "postfix", "unknown qmail flavour"),
])
def test_validation_errors_name_file_and_value(files, flavour, message):
    with pytest.raises(control.ControlError) as info:
        contents(files, flavour)
    assert message in str(info.value)


def test_files_must_be_a_dict():
    with pytest.raises(control.ControlError, match="must be a dict"):
        control.plan("/c", ["me"])


def test_regex_lists_accept_patterns_and_negation():
    result, _w = contents({"badmailfrom": [r"^.*@spam\.example$", "!@good.example"]}, "gentoo")
    assert result["badmailfrom"] == b"^.*@spam\\.example$\n!@good.example\n"


@pytest.mark.parametrize("name, flavour, effect", [
    ("locals", "notqmail", "hup-send"), ("virtualdomains", "jms", "hup-send"),
    ("concurrencyremote", "gentoo", "hup-send"), ("concurrencyremote", "sagredo", "restart-send"),
    ("me", "notqmail", "restart-send"), ("rcpthosts", "notqmail", "none"),
    ("morercpthosts", "notqmail", "newmrh"), ("concurrencyincoming", "notqmail", "restart-smtpd"),
    ("helohost", "notqmail", "none"), ("unknownfile", "notqmail", "none"),
])
def test_effects(name, flavour, effect):
    assert control.effect_of(name, flavour) == effect


def test_prune_removes_only_catalogued_unnamed_files():
    present = ["me", "locals", "rcpthosts", "smtproutes", "morercpthosts.cdb", "servercert.pem",
               "conf-common", "mylocal"]
    result, _w = contents({"me": "a.example"}, prune=True, listdir=lambda _d: present)
    assert result == {"me": b"a.example\n", "locals": None, "rcpthosts": None}
    result, _w = contents({"me": "a.example"}, prune=False, listdir=lambda _d: present)
    assert result == {"me": b"a.example\n"}
