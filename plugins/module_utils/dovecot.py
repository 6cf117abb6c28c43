# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grammar of the values mailops.qmail.imapd writes into Dovecot's configuration.

Each function raises ValidationError naming the variable and returns the value as the
configuration file holds it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

# A relative path of letters, digits and _.- components: inside the home directory, and nothing
# mail_location reads as syntax (':' separates its parameters, '%' and '~' expand).
_COMPONENT = re.compile(r"\A[A-Za-z0-9_.-]+\Z")
_SETTING = re.compile(r"\A[a-z][a-z0-9_]*\Z")
_LISTEN = re.compile(r"\A(?:\*|::|[0-9A-Fa-f:.]+)\Z")


def maildir(value, field):
    """A maildir inside the home directory, as mail_location's `maildir:~/PATH` wants it.

    Accepts the forms qmail's own files use (Maildir, .maildir, ./Maildir/, mail/box/)."""
    if not isinstance(value, str) or not value:
        raise ValidationError("%s: %r is not a maildir path such as Maildir or .maildir" % (field, value))
    path = value[2:] if value.startswith("./") else value
    path = path[:-1] if path.endswith("/") else path
    parts = path.split("/")
    if value.startswith("/") or not all(_COMPONENT.match(part) and part not in (".", "..") for part in parts):
        raise ValidationError(
            "%s: %r is not a maildir inside the home directory. Give a relative path such as Maildir, .maildir "
            "or ./Maildir/: components of letters, digits and _.- separated by /, none of them . or .., "
            "no leading /" % (field, value))
    return path


def listen(addresses, field):
    """Dovecot's `listen`: IPv4 or IPv6 addresses, * (every IPv4 one) or :: (every IPv6 one)."""
    if not isinstance(addresses, list) or not addresses:
        raise ValidationError("%s: %r must be a non-empty list of addresses" % (field, addresses))
    for index, address in enumerate(addresses):
        if not isinstance(address, str) or not _LISTEN.match(address):
            raise ValidationError("%s[%d]: %r is not an IPv4 or IPv6 address, * (every IPv4 address) or :: "
                                  "(every IPv6 address)" % (field, index, address))
    return ", ".join(addresses)


def extra_settings(settings, owned, field):
    """Plain `name = value` settings; none of the `owned` names, which the role sets itself."""
    if not isinstance(settings, dict):
        raise ValidationError("%s: %r is not a mapping of Dovecot setting names to values" % (field, settings))
    for name, value in settings.items():
        if not isinstance(name, str) or not _SETTING.match(name):
            raise ValidationError("%s: %r is not a Dovecot setting name (lower-case letters, digits and _)"
                                  % (field, name))
        if name in owned:
            raise ValidationError("%s.%s: the role sets %s from its own variables (%s); it cannot be replaced"
                                  % (field, name, name, ", ".join(sorted(owned))))
        if isinstance(value, bool) or (isinstance(value, (int, float))):
            continue
        if not isinstance(value, str) or re.search(r"[\r\n\x00]", value):
            raise ValidationError("%s.%s: %r must be a string on one line, a number or a boolean"
                                  % (field, name, value))
    return settings
