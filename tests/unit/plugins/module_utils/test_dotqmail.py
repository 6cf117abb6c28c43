# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A value meant as one kind of .qmail instruction is read by qmail-local as exactly that."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import dotqmail
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


def qmail_local_reads(text):
    """A model of qmail-local's reading of a .qmail file (qmail-local.c, main loop).

    Lines end at '\\n' (a NUL ends the C string early); trailing spaces and tabs are cut; the
    first character decides the kind; '&' is dropped in front of an address.
    """
    instructions = []
    for raw in text.split("\n")[:-1]:
        line = raw.split("\x00", 1)[0].rstrip(" \t")
        if not line:
            continue
        first = line[0]
        if first == "#":
            instructions.append(("comment", line))
        elif first == "|":
            instructions.append(("program", line[1:]))
        elif first in "./":
            instructions.append(("maildir" if line.endswith("/") else "mbox", line))
        else:
            instructions.append(("forward", line[1:] if first == "&" else line))
    return instructions


TEXT = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\n\r\x00 \t|&/#.@-+_="), max_size=40)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_an_accepted_admin_address_is_one_forward_and_nothing_else(value):
    try:
        address = dotqmail.forward_address(value, "send_admin_address")
    except ValidationError as exc:
        assert "send_admin_address" in str(exc)
        return
    assert qmail_local_reads("&" + address + "\n") == [("forward", value)]


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_an_accepted_line_is_read_as_the_kind_it_was_judged(value):
    try:
        kind = dotqmail.line_kind(value, "send_delivery_custom[0]")
    except ValidationError:
        return
    [(read_kind, _text)] = qmail_local_reads(value + "\n")
    assert read_kind == kind


@pytest.mark.parametrize("value", [
    "admin@example.org\n|/bin/touch /tmp/x",  # the reported injection
    "|/bin/touch /tmp/x",
    "&|/bin/sh",
    "/root/Mailbox",
    "./Maildir/",
    "#admin",
    "admin@example.org ",
    "ad min@example.org",
    "admin@exa mple.org",
    "admin@",
    "\"admin\"@example.org",
    "admin@example.org.",
    "admin\x00@example.org",
    "\udcff@example.org",
])
def test_admin_addresses_that_are_refused(value):
    with pytest.raises(ValidationError, match="send_admin_address"):
        dotqmail.forward_address(value, "send_admin_address")


@pytest.mark.parametrize("value", ["admin@example.org", "postmaster", "ops-team+qmail@mail.example.org", "a.b=c@x.y"])
def test_admin_addresses_that_are_accepted(value):
    assert dotqmail.forward_address(value, "send_admin_address") == value


@pytest.mark.parametrize("value, kind", [
    ("./Maildir/", "maildir"),
    ("./Mailbox", "mbox"),
    ("|preline /usr/bin/procmail", "program"),
    ("&admin@example.org", "forward"),
    ("# a comment", "comment"),
])
def test_line_kinds(value, kind):
    assert dotqmail.line_kind(value, "f") == kind


@pytest.mark.parametrize("value", ["./Maildir/\n|sh", "./Maildir/ ", "", "|", "&|sh"])
def test_lines_that_are_refused(value):
    with pytest.raises(ValidationError):
        dotqmail.line_kind(value, "send_delivery_custom[0]")


@pytest.mark.parametrize("value, ok", [
    ("Maildir", True), (".maildir", True), ("..", False), (".", False), ("a/b", False), ("Maildir\n", False),
    ("", False), ("mail dir", False),
])
def test_maildir_names(value, ok):
    if ok:
        assert dotqmail.path_component(value, "send_maildir_name") == value
    else:
        with pytest.raises(ValidationError, match="send_maildir_name"):
            dotqmail.path_component(value, "send_maildir_name")
