# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grammar of Dovecot values: a maildir stays inside the home directory, and nothing a value
holds is read by Dovecot as syntax."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import dovecot
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


@pytest.mark.parametrize("value, path", [("Maildir", "Maildir"), (".maildir", ".maildir"), ("./Maildir/", "Maildir"),
                                         ("mail/Maildir", "mail/Maildir"), ("Mail.d/", "Mail.d"),
                                         ("a..b", "a..b"), ("..x", "..x")])
def test_relative_paths_inside_home_are_accepted_as_mail_location_wants_them(value, path):
    assert dovecot.maildir(value, "imapd_maildir") == path


@pytest.mark.parametrize("value", ["", "/var/mail/x", "..", "../x", "Maildir/../../etc", "./", ".", "a/./b",
                                   "Maildir\n", "Mail dir", "Maildir:INBOX=/x", "%u", "~/Maildir", "a//b", None, 3])
def test_what_leaves_home_or_is_syntax_is_refused_naming_the_variable(value):
    with pytest.raises(ValidationError, match="imapd_maildir"):
        dovecot.maildir(value, "imapd_maildir")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab./:%~\n ", max_size=12))
def test_an_accepted_maildir_resolves_inside_the_home_directory(value):
    """Dovecot joins ~/ and the path: whatever is accepted stays below home and has no syntax in it."""
    try:
        path = dovecot.maildir(value, "imapd_maildir")
    except ValidationError:
        return
    resolved = posixpath.normpath(posixpath.join("/home/u", path))
    assert resolved.startswith("/home/u/") and resolved != "/home/u"
    assert not set(path) & set(":%~\n ")


def test_listen_is_written_as_dovecot_reads_it():
    assert dovecot.listen(["192.0.2.1", "2001:db8::1", "*"], "imapd_listen") == "192.0.2.1, 2001:db8::1, *"


@pytest.mark.parametrize("value, field", [([], "imapd_listen"), ("*", "imapd_listen"),
                                          (["*", "localhost"], r"imapd_listen\[1\]"),
                                          (["1.2.3.4, 5.6.7.8"], r"imapd_listen\[0\]")])
def test_listen_refuses_what_is_no_address_list(value, field):
    with pytest.raises(ValidationError, match=field):
        dovecot.listen(value, "imapd_listen")


def test_extra_settings_accept_plain_values():
    given_settings = {"mail_debug": True, "mail_max_userip_connections": 20, "login_greeting": "hello there"}
    assert dovecot.extra_settings(given_settings, ("ssl",), "imapd_extra_settings") == given_settings


@pytest.mark.parametrize("value, message", [
    ({"Mail_Debug": "yes"}, "not a Dovecot setting name"),
    ({"ssl": "no"}, r"imapd_extra_settings\.ssl: the role sets ssl"),
    ({"login_greeting": "hi\n}\nservice auth {"}, r"imapd_extra_settings\.login_greeting"),
    ({"mail_plugins": ["quota"]}, r"imapd_extra_settings\.mail_plugins"),
    (["ssl"], "not a mapping"),
])
def test_extra_settings_refuse_what_dovecot_would_misread_or_the_roles_own(value, message):
    with pytest.raises(ValidationError, match=message):
        dovecot.extra_settings(value, ("ssl",), "imapd_extra_settings")
