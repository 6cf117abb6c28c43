# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addresses qmail would deliver locally, as sagredo's control/validrcptto lists them.

qmail takes mail for any local part at RCPT and bounces later what it cannot deliver, to a
sender that may be forged (backscatter). sagredo's qmail-smtpd refuses an address at RCPT when
control/validrcptto has '-@domain' and no line for the address. So the list must hold every
address qmail-local would deliver, and '-@domain' only for a domain whose addresses can all be
listed: validrcptto matches whole addresses (lower-cased), so a '.qmail-default' (any extension)
or a users/assign file (qmail-users, not read here) leaves its domain unchecked.

Who qmail delivers to, for a local domain (qmail-send, qmail-getpw, qmail-local):
- a user qmail-getpw accepts: a passwd entry with uid other than 0, a name without capitals,
  and a home directory owned by that uid; then 'user@domain', and 'user-EXT@domain' for each
  '~user/.qmail-EXT' ('.' in the address is ':' in the file name). Only people's accounts (uid
  from login.defs' UID_MIN) are listed;
- anything else goes to ~alias: 'NAME@domain' for each '~alias/.qmail-NAME'.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

_DOTQMAIL = ".qmail-"
# A local part qmail-smtpd compares as written (after lower-casing), nothing that needs quoting,
# and no '#' or '-' first, which make the line a comment or a refusal in control/validrcptto.
_LOCAL = re.compile(r"\A[a-z0-9!$%&'*+/=?^_`{|}~][a-z0-9!#$%&'*+/=?^_`{|}~.-]*\Z")


def eligible_user(name, uid, home_owner, min_uid=1):
    """Whether qmail-getpw would deliver to this passwd entry (home_owner: uid owning its home, or None)
    and it is a person's account (uid at least min_uid).

    System accounts that own their home (stunnel4, a package's daemon user) would get mail in a
    directory that is no mailbox, and packages add them at any time: they are not listed."""
    return uid != 0 and uid >= min_uid and name == name.lower() and home_owner is not None and home_owner == uid


def _extensions(file_names):
    """Address extensions of .qmail files ('foo:bar' -> 'foo.bar'), and whether any is a wildcard."""
    extensions, wildcard = [], False
    for name in file_names:
        if not name.startswith(_DOTQMAIL):
            continue
        extension = name[len(_DOTQMAIL):].lower()
        if extension == "default" or extension.endswith("-default"):
            wildcard = True
        elif extension:
            extensions.append(extension.replace(":", "."))
    return extensions, wildcard


def plan(domains, users, alias_files, user_files=None, assign=False, extra=()):
    """The lines of control/validrcptto, and the domains left unchecked (with the reason).

    domains: the local domains (control/locals); users: names qmail-getpw accepts; alias_files:
    file names in ~alias; user_files: {user: file names in the home}; assign: users/assign is
    in use; extra: more addresses to accept (user@domain).
    """
    user_files = user_files or {}
    locals_ = set()
    open_reasons = []
    alias_ext, alias_wild = _extensions(alias_files)
    locals_.update(alias_ext)
    if alias_wild:
        open_reasons.append("~alias has a .qmail-default (every address is delivered)")
    if assign:
        open_reasons.append("users/assign maps addresses this list does not read")
    for user in users:
        locals_.add(user)
        extensions, wild = _extensions(user_files.get(user, ()))
        locals_.update("%s-%s" % (user, ext) for ext in extensions)
        if wild:
            open_reasons.append("~%s has a .qmail-default (any %s-EXT address is delivered)" % (user, user))
    checked = []
    for index, domain in enumerate(domains):
        checked.append(validate.hostname(domain, "locals[%d]" % index).lower().rstrip("."))
    lines = set()
    for local in sorted(locals_):
        if _LOCAL.match(local):
            lines.update("%s@%s" % (local, domain) for domain in checked)
        else:
            open_reasons.append("%r cannot be written as a validrcptto line" % local)
    for index, address in enumerate(extra or ()):
        field = "extra[%d]" % index
        validate.single_line(address, field)
        local, _at, domain = address.lower().rpartition("@")
        if not local or not _LOCAL.match(local):
            raise ValidationError("%s: %r is not an address such as user@example.org" % (field, address))
        validate.hostname(domain, field)
        lines.add("%s@%s" % (local, domain))
    result = sorted(lines)
    if not open_reasons:
        result.extend("-@%s" % domain for domain in sorted(set(checked)))
    return result, open_reasons


def render(lines):
    return "".join(line + "\n" for line in lines).encode("utf-8")
