# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""control/validrcptto lists what qmail delivers, and refuses the rest only when it can list it all."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import control, recipients
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

ALIASES = [".qmail-root", ".qmail-postmaster", ".qmail-mailer-daemon", "Maildir"]


def validrcptto_accepts(lines, address):
    """A model of sagredo's vrtcheck (qmail-smtpd.c): address lower-cased; an exact line accepts,
    '-address' refuses, '@domain' accepts, '-@domain' refuses; nothing matching accepts."""
    address = address.lower()
    domain = "@" + address.rpartition("@")[2]
    entries = set(lines)
    if address in entries:
        return True
    if "-" + address in entries:
        return False
    if domain in entries:
        return True
    return "-" + domain not in entries


def test_users_aliases_and_extensions_are_listed_and_the_rest_refused():
    lines, open_reasons = recipients.plan(["example.org", "Mail.Example.org"], ["alice"], ALIASES,
                                          {"alice": [".qmail-lists:news", ".forward"]})
    assert open_reasons == []
    for address in ("alice@example.org", "ALICE@example.org", "alice-lists.news@mail.example.org",
                    "postmaster@example.org", "root@mail.example.org", "mailer-daemon@example.org"):
        assert validrcptto_accepts(lines, address), address
    for address in ("nosuchuser@example.org", "alice-other@example.org", "maildir@example.org"):
        assert not validrcptto_accepts(lines, address), address
    # Domains that are not local (relayed, backup MX) are never judged.
    assert validrcptto_accepts(lines, "anyone@elsewhere.example")


@pytest.mark.parametrize("alias_files, user_files, assign, reason", [
    (ALIASES + [".qmail-default"], {}, False, "~alias has a .qmail-default"),
    (ALIASES, {"alice": [".qmail-default"]}, False, "~alice has a .qmail-default"),
    (ALIASES, {"alice": [".qmail-list-default"]}, False, "any alice-EXT"),
    (ALIASES, {}, True, "users/assign"),
    (ALIASES + [".qmail-#hash"], {}, False, "cannot be written"),
    (ALIASES + [".qmail--x"], {}, False, "cannot be written"),
])
def test_an_open_ended_set_refuses_nothing(alias_files, user_files, assign, reason):
    lines, open_reasons = recipients.plan(["example.org"], ["alice"], alias_files, user_files, assign)
    assert any(reason in text for text in open_reasons), open_reasons
    assert validrcptto_accepts(lines, "nosuchuser@example.org")


@pytest.mark.parametrize("name, uid, owner, ok", [
    ("alice", 1000, 1000, True), ("root", 0, 0, False), ("Alice", 1000, 1000, False),
    ("bob", 1001, 0, False), ("carol", 1002, None, False),
    # A daemon account a package adds later in the run: listing it would change the list next run.
    ("stunnel4", 108, 108, False),
])
def test_users_qmail_getpw_accepts(name, uid, owner, ok):
    assert recipients.eligible_user(name, uid, owner, 1000) is ok


def test_extra_addresses_are_checked_and_listed():
    lines, _open = recipients.plan(["example.org"], [], [], extra=["Sales@Example.org"])
    assert "sales@example.org" in lines
    with pytest.raises(ValidationError, match=r"extra\[0\]"):
        recipients.plan(["example.org"], [], [], extra=["no address"])
    with pytest.raises(ValidationError, match=r"locals\[0\]"):
        recipients.plan(["bad domain"], [], [])


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:#+", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, max_size=5), st.lists(NAMES, max_size=5))
def test_qmail_reads_back_exactly_the_lines_written(users, alias_names):
    users = [user for user in users if recipients.eligible_user(user, 1000, 1000)]
    lines, open_reasons = recipients.plan(["example.org"], users, [".qmail-" + n for n in alias_names])
    # control_readfile drops nothing and splits nothing of what was written.
    assert [entry.decode() for entry in control.read_list(recipients.render(lines))] == lines
    # Every user qmail delivers to passes; refusing happens only when nothing is open-ended.
    for user in users:
        assert validrcptto_accepts(lines, user + "@example.org")
    assert validrcptto_accepts(lines, "zz-not-listed-@example.org") == bool(open_reasons)
