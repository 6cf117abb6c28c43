# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grammar of .qmail lines (dot-qmail(5)), as qmail-local reads them.

qmail-local takes one instruction per line and decides its kind by the first character alone:
'#' comment, '|' program, '/' or '.' mbox (or maildir when it ends in '/'), '&' or a letter or
digit a forwarding address. Trailing spaces and tabs are dropped. So a value meant as an address
that holds a newline, or starts with '|', becomes a program run for every message: each writer
checks its value here for the kind it means.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

# A local part qmail-local forwards as written: no characters that start another line kind, no
# quoting (which qmail-local does not undo) and nothing the shell or the envelope would split.
_LOCAL_PART = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.+=-]*\Z")
# A path component: a maildir or mbox name inside a home directory.
_PATH_COMPONENT = re.compile(r"\A[A-Za-z0-9_.][A-Za-z0-9_.-]*\Z")

KINDS = ("comment", "program", "mbox", "maildir", "forward")


def _one_line(value, field):
    if not isinstance(value, str):
        raise ValidationError("%s: %r must be a string" % (field, value))
    if any(char in value for char in "\n\r\x00"):
        raise ValidationError("%s: %r holds a line break or NUL byte; in a .qmail file the part after it "
                              "would become an instruction of its own" % (field, value))
    return validate.single_line(value, field)


def forward_address(value, field):
    """An address qmail-local forwards to: user@domain, or a local user name (no domain).

    Returns the address; a .qmail line forwarding to it is '&' + address.
    """
    _one_line(value, field)
    local, at, domain = value.rpartition("@") if "@" in value else (value, "", "")
    problem = None
    if not _LOCAL_PART.match(local):
        problem = ("the part before the domain must start with a letter, digit or '_' and hold only "
                   "letters, digits and _.+=- (no spaces, quotes, '|', '/', '&' or '#')")
    elif at:
        try:
            validate.hostname(domain, field)
        except ValidationError:
            problem = "%r is not a domain name" % domain
        if domain.endswith("."):
            problem = "the domain %r ends with a dot" % domain
    if problem:
        raise ValidationError("%s: %r is not a forwarding address such as admin@example.org or a local user "
                              "name: %s" % (field, value, problem))
    return value


def line_kind(value, field):
    """The kind of one .qmail instruction line (see KINDS), after checking it is one line.

    Trailing spaces and tabs are refused rather than dropped, since qmail-local would not see them.
    """
    _one_line(value, field)
    if value != value.rstrip(" \t"):
        raise ValidationError("%s: %r ends in spaces or tabs, which qmail-local drops" % (field, value))
    if not value:
        raise ValidationError("%s: an empty line is not an instruction" % field)
    first = value[0]
    if first == "#":
        return "comment"
    if first == "|":
        if not value[1:].strip():
            raise ValidationError("%s: %r names no program" % (field, value))
        return "program"
    if first in "./":
        return "maildir" if value.endswith("/") else "mbox"
    forward_address(value[1:] if first == "&" else value, field)
    return "forward"


def path_component(value, field):
    """A maildir or mbox name inside a home directory: one path component, not '.' or '..'."""
    _one_line(value, field)
    if not _PATH_COMPONENT.match(value) or value in (".", ".."):
        raise ValidationError("%s: %r is not a single file name such as Maildir or .maildir (letters, digits "
                              "and _.-, no '/')" % (field, value))
    return value
