# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""control/smtproutes in the syntax of each qmail flavour, with outbound credentials.

* ``classic`` (netqmail, notqmail): ``domain:relay[:port]``, no credentials;
* ``base64`` (the Gentoo patch set, seed guide appendix B.3): ``domain:relay[:port] USER PASS``
  with user name and password base64-encoded;
* ``space`` (John Simpson's combined patch, qmail-remote-auth): ``domain:relay[:port] user password``;
* ``pipe`` (sagredo): ``domain:relay:port|user|password``.

A line starting with ``:`` is the default route, ``.example.com`` matches every subdomain, an empty
relay means "use the MX records".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re

from ansible_collections.mailops.qmail.plugins.module_utils import flavours
from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

SYNTAXES = ("classic", "base64", "space", "pipe")
MASK = "********"
CREDENTIAL_MODE = 0o640


class RoutesError(ValueError):
    """A route that cannot be written; nothing has been written."""


def syntax_for(syntax=None, flavour=None):
    """The smtproutes syntax from an explicit syntax or the flavour (default notqmail)."""
    if syntax:
        if syntax not in SYNTAXES:
            raise RoutesError("syntax: %r is not one of %s" % (syntax, ", ".join(SYNTAXES)))
        return syntax
    try:
        return flavours.flavour_info(flavour or flavours.DEFAULT_FLAVOUR)["smtproutes_syntax"]
    except flavours.FlavourError as exc:
        raise RoutesError("flavour: %s" % exc)


def _shown(value, field):
    """What an error may show of a value: credentials never appear, not even in part."""
    return MASK if field.endswith((".username", ".password")) else repr(value)


def _text(value, field):
    if not isinstance(value, str):
        raise ValidationError("%s: %s is a %s; a string is accepted"
                              % (field, _shown(value, field), type(value).__name__))
    if not _encodable(value):
        raise ValidationError("%s: %s is not valid UTF-8 text (it holds a lone surrogate); text "
                              "that qmail-remote can read back is accepted" % (field, _shown(value, field)))
    return value


def _forbid(value, chars, field, what):
    bad = [char for char in chars if char in value]
    if bad:
        raise ValidationError("%s: %s contains %s, which would break the %s"
                              % (field, _shown(value, field), ", ".join(repr(char) for char in bad), what))


def _encodable(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _route_field(route, index):
    domain = route.get("domain") or ""
    if not domain:
        return "routes[%d] (default route)" % index
    if isinstance(domain, str) and _encodable(domain) and domain.isprintable():
        return "routes[%d] (%s)" % (index, domain)
    return "routes[%d] (%r)" % (index, domain)


def normalize(routes, syntax):
    """Validate the route dicts; return a list of {domain, relay, port, username, password}."""
    if not isinstance(routes, list):
        raise RoutesError("routes: %r must be a list of route dicts" % (routes,))
    seen = {}
    result = []
    try:
        for index, route in enumerate(routes):
            if not isinstance(route, dict):
                raise ValidationError("routes[%d]: %r must be a dict with domain, relay, port, "
                                      "username, password" % (index, route))
            where = _route_field(route, index)
            known = ("domain", "relay", "port", "username", "password")
            unknown = sorted(str(key) for key in route if key not in known)
            if unknown:
                raise ValidationError("%s: unknown key(s) %s; accepted: domain, relay, port, "
                                      "username, password" % (where, ", ".join(unknown)))
            domain = route.get("domain") or ""
            relay = route.get("relay") or ""
            port = route.get("port")
            username = route.get("username")
            password = route.get("password")
            for name, value in (("domain", domain), ("relay", relay)):
                _text(value, "%s.%s" % (where, name))
                _forbid(value, ":| \t\n\r", "%s.%s" % (where, name), "line format")
            if domain:
                validate.hostname(domain, where + ".domain", allow_leading_dot=True)
            if relay:
                validate.host_or_literal(relay, where + ".relay")
            if port is not None:
                port = validate.port(port, where + ".port")
                if not relay:
                    raise ValidationError("%s.port: %r needs a relay (an empty relay means: use "
                                          "the MX records on port 25)" % (where, port))
            key = domain.lower()
            if key in seen:
                raise ValidationError("%s: a second route for %r (the first is routes[%d])"
                                      % (where, domain or "the default route", seen[key]))
            seen[key] = index
            if (username is None) != (password is None):
                raise ValidationError("%s: username and password go together; give both or neither"
                                      % where)
            if username is not None:
                if syntax == "classic":
                    raise ValidationError(
                        "%s: credentials need an smtproutes syntax with outbound AUTH (base64, "
                        "space or pipe); the classic syntax (notqmail) has none, and dropping them "
                        "would send mail unauthenticated" % where)
                if not relay:
                    raise ValidationError("%s: credentials need a relay host" % where)
                for name, value in (("username", username), ("password", password)):
                    field = "%s.%s" % (where, name)
                    if not _text(value, field):
                        raise ValidationError("%s: is empty; a non-empty string is accepted" % field)
                    chars = "\n\r\x00" if syntax == "base64" else " \t\n\r\x00"
                    if syntax == "pipe":
                        chars += "|"
                    _forbid(value, chars, field, "%s syntax" % syntax)
            result.append(dict(domain=domain, relay=relay, port=port, username=username,
                               password=password))
    except ValidationError as exc:
        raise RoutesError(str(exc))
    return result


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def render_line(route, syntax):
    """One smtproutes line, without its newline."""
    line = "%s:%s" % (route["domain"], route["relay"])
    has_credentials = route.get("username") is not None
    port = route.get("port")
    if syntax == "pipe" and has_credentials and port is None:
        port = 25
    if port is not None:
        line += ":%d" % port
    if not has_credentials:
        return line
    user, password = route["username"], route["password"]
    if syntax == "base64":
        return line + " %s %s" % (_b64(user), _b64(password))
    if syntax == "space":
        return line + " %s %s" % (user, password)
    return line + "|%s|%s" % (user, password)


def render(routes, syntax):
    return "".join(render_line(route, syntax) + "\n" for route in routes)


def has_credentials(routes):
    return any(route.get("username") is not None for route in routes)


# domain:relay[:port], the part of a line that every syntax writes the same way and that holds no
# credentials: neither domain nor relay can contain ':', '|', a space or a tab. Only those
# separators survive masking, so nothing of a credential does.
_ROUTE = re.compile(r"\A[^ \t|:]*:[^ \t|:]*(?::[0-9]+)?")
_FIELD = re.compile(r"[^ \t|]+")


def mask_text(text):
    """An smtproutes text fit for a diff: on every line, each field after domain:relay[:port] is
    masked (user names and passwords alike, whichever syntax wrote the line, base64 or not), and a
    line that does not start with a route is masked whole."""
    if text is None:
        return None
    lines = []
    for line in text.split("\n"):
        route = _ROUTE.match(line)
        if route is None:
            lines.append(_FIELD.sub(MASK, line))
        else:
            lines.append(route.group() + _FIELD.sub(MASK, line[route.end():]))
    return "\n".join(lines)


def masked_routes(routes):
    """The routes as returned to Ansible: user names and passwords replaced by a mask."""
    return [dict(route, **dict((key, None if route.get(key) is None else MASK)
                               for key in ("username", "password")))
            for route in routes]
