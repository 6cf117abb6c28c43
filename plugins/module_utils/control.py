# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalogue of qmail control files and the planning of a control-directory update.

For every control file qmail (or a patch of a known flavour) reads, the catalogue says whether it
holds one value or a list, how its values are checked, and what a running qmail must do to take a
change (the "effect"):

* ``none``: read per connection or per delivery (qmail-smtpd, qmail-remote, qmail-inject...);
* ``hup-send``: qmail-send rereads it on SIGHUP (locals, virtualdomains; concurrency* with the
  reread-concurrency patch);
* ``restart-send``: qmail-send reads it only at start;
* ``restart-smtpd``: read by the qmail-smtpd service's run script at start;
* ``newmrh``: morercpthosts, which takes effect once qmail-newmrh rebuilds morercpthosts.cdb.

plan() validates everything before anything is written and returns what each file must become.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.mailops.qmail.plugins.module_utils import flavours
from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

EFFECTS = ("none", "hup-send", "restart-send", "restart-smtpd", "newmrh")
SINGLE = "single"
LIST = "list"


class ControlError(ValueError):
    """A control file value that is refused; nothing has been written."""


def _host(value, field):
    return validate.hostname(value, field)


def _domain_or_sub(value, field):
    return validate.hostname(value, field, allow_leading_dot=True)


def _text(value, field):
    return validate.single_line(value, field)


def _local_part(value, field):
    validate.single_line(value, field)
    if not value or any(char in value for char in " \t@"):
        raise ValidationError("%s: %r is not a mailbox name (no spaces, no '@')" % (field, value))
    return value


def _address(value, field):
    validate.single_line(value, field)
    if not value or any(char in value for char in " \t"):
        raise ValidationError("%s: %r is not an address such as user@example.com (no spaces)"
                              % (field, value))
    return value


def _bad_address(value, field):
    """badmailfrom/badrcptto without regex support: user@domain or @domain, exactly."""
    _address(value, field)
    if "@" not in value:
        raise ValidationError("%s: %r is neither user@domain nor @domain" % (field, value))
    return value


def _regex(value, field):
    """A qregex entry: an extended regular expression, '!' in front negates it."""
    validate.single_line(value, field)
    pattern = value[1:] if value.startswith("!") else value
    if not pattern:
        raise ValidationError("%s: %r is an empty pattern" % (field, value))
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError("%s: %r is not a valid regular expression (%s)" % (field, value, exc))
    return value


def _virtualdomain(value, field):
    """virtualdomains: [user@]domain:prepend or .domain:prepend."""
    validate.single_line(value, field)
    address, colon, prepend = value.partition(":")
    if not colon:
        raise ValidationError("%s: %r lacks the ':' between the domain and the prepended user "
                              "(domain:user, .domain:user or user@domain:user)" % (field, value))
    domain = address.rpartition("@")[2]
    validate.hostname(domain, field, allow_leading_dot=True)
    if any(char in prepend for char in " \t"):
        raise ValidationError("%s: %r: the prepended part %r contains whitespace"
                              % (field, value, prepend))
    return value


def _integer(minimum=None, maximum=None):
    def check(value, field):
        return validate.integer(value, field, minimum, maximum)
    return check


def _concurrency(value, field, flavour):
    if flavours.supports(flavour, "big_concurrency"):
        return validate.integer(value, field, 1, 65000)
    return validate.integer(value, field, 1, 255,
                            " (the %r flavour lacks big-concurrency, so 255 is the limit)" % flavour)


# name: (kind, check, effect, flavour feature or None)
CATALOGUE = {
    # qmail-send, at start (and on HUP where noted)
    "me": (SINGLE, _host, "restart-send", None),
    "bouncefrom": (SINGLE, _local_part, "restart-send", None),
    "bouncehost": (SINGLE, _host, "restart-send", None),
    "concurrencylocal": (SINGLE, "concurrency", "concurrency", None),
    "concurrencyremote": (SINGLE, "concurrency", "concurrency", None),
    "doublebouncehost": (SINGLE, _host, "restart-send", None),
    "doublebounceto": (SINGLE, _local_part, "restart-send", None),
    "envnoathost": (SINGLE, _host, "restart-send", None),
    "percenthack": (LIST, _host, "restart-send", None),
    "queuelifetime": (SINGLE, _integer(0), "restart-send", None),
    "locals": (LIST, _host, "hup-send", None),
    "virtualdomains": (LIST, _virtualdomain, "hup-send", None),
    "bouncemaxbytes": (SINGLE, _integer(0), "restart-send", "bouncemaxbytes"),
    "defaultdelivery": (SINGLE, _text, "restart-send", None),
    # qmail-smtpd, per connection
    "rcpthosts": (LIST, _domain_or_sub, "none", None),
    "morercpthosts": (LIST, _domain_or_sub, "newmrh", None),
    "badmailfrom": (LIST, "bad", "none", None),
    "badmailto": (LIST, "bad", "none", "badmailto"),
    "badrcptto": (LIST, _bad_address, "none", "badrcptto"),
    "morebadrcptto": (LIST, _bad_address, "none", "badrcptto"),
    "databytes": (SINGLE, _integer(0), "none", None),
    "localiphost": (SINGLE, _host, "none", None),
    "smtpgreeting": (SINGLE, _text, "none", None),
    "timeoutsmtpd": (SINGLE, _integer(1), "none", None),
    "tarpitcount": (SINGLE, _integer(0), "none", None),
    "tarpitdelay": (SINGLE, _integer(0), "none", None),
    # the qmail-smtpd run script, at service start
    "concurrencyincoming": (SINGLE, _integer(1), "restart-smtpd", None),
    # qmail-remote, per delivery
    "helohost": (SINGLE, _host, "none", None),
    "timeoutconnect": (SINGLE, _integer(1), "none", None),
    "timeoutremote": (SINGLE, _integer(1), "none", None),
    "notipme": (LIST, _text, "none", None),
    # qmail-inject and friends, per run
    "defaultdomain": (SINGLE, _host, "none", None),
    "defaulthost": (SINGLE, _host, "none", None),
    "plusdomain": (SINGLE, _host, "none", None),
    "idhost": (SINGLE, _host, "none", None),
}

# Never written or removed by this module: other modules and roles own them.
FOREIGN = {
    "smtproutes": "mailops.qmail.smtproutes (it may hold credentials)",
    "servercert.pem": "the tls role (a private key)",
    "clientcert.pem": "the tls role (a private key)",
}


def effect_of(name, flavour):
    """What a running qmail must do after `name` changed (an entry of EFFECTS)."""
    entry = CATALOGUE.get(name)
    if entry is None:
        return "none"
    effect = entry[2]
    if effect == "concurrency":
        return "hup-send" if flavours.supports(flavour, "reread_concurrency") else "restart-send"
    return effect


def _check_entry(name, value, field, flavour):
    kind, check, _effect, _feature = CATALOGUE[name]
    if check == "concurrency":
        return _concurrency(value, field, flavour)
    if check == "bad":
        if flavours.supports(flavour, "regex_bad_lists"):
            return _regex(value, field)
        return _bad_address(value, field)
    return check(value, field)


def _render_value(name, value, flavour, warnings):
    """The bytes of one control file, or None for absent; raises ValidationError."""
    field = "files.%s" % name
    if value is None:
        return None
    entry = CATALOGUE.get(name)
    if entry is None:
        warnings.append("files.%s: %r is not a control file this module knows; written as given "
                        "without checks" % (name, name))
        kind = LIST if isinstance(value, list) else SINGLE
    else:
        kind = entry[0]
        if entry[3]:
            try:
                flavours.require(flavour, entry[3], field)
            except flavours.FlavourError as exc:
                raise ValidationError(str(exc))
    if kind == SINGLE:
        if isinstance(value, (list, dict)) or isinstance(value, bool):
            raise ValidationError("%s: %r: %s holds one value (a string or an integer)"
                                  % (field, value, name))
        text = validate.single_line(str(value), field)
        if entry is not None:
            _check_entry(name, value if isinstance(value, int) else text, field, flavour)
        return (text + "\n").encode("utf-8")
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise ValidationError("%s: %r: %s holds a list (one entry per line)" % (field, value, name))
    lines = []
    for index, item in enumerate(value):
        item_field = "%s[%d]" % (field, index)
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ValidationError("%s: %r must be a string" % (item_field, item))
        text = validate.single_line(str(item), item_field)
        if entry is not None:
            _check_entry(name, text, item_field, flavour)
        lines.append(text + "\n")
    return "".join(lines).encode("utf-8")


def _check_name(name):
    if not isinstance(name, str) or not name or "/" in name or name in (".", "..") or "\x00" in name:
        raise ValidationError("files: %r is not a plain file name (no slash)" % (name,))
    if name in FOREIGN:
        raise ValidationError("files.%s: %s is managed by %s, not by this module"
                              % (name, name, FOREIGN[name]))


def plan(control_dir, files, flavour=flavours.DEFAULT_FLAVOUR, prune=False, listdir=os.listdir):
    """Validate `files` and return (entries, warnings) without touching anything.

    entries: list of dicts {name, path, content (bytes or None for absent), effect}, the named
    files first (in the order given), then the catalogued files that prune removes.
    Raises ControlError naming the field, the value and what is accepted.
    """
    try:
        flavours.flavour_info(flavour)
    except flavours.FlavourError as exc:
        raise ControlError("flavour: %s" % exc)
    if not isinstance(files, dict):
        raise ControlError("files: %r must be a dict of control file name to value" % (files,))
    warnings = []
    entries = []
    try:
        for name, value in files.items():
            _check_name(name)
            entries.append({
                "name": name,
                "path": os.path.join(control_dir, name),
                "content": _render_value(name, value, flavour, warnings),
                "effect": effect_of(name, flavour),
            })
    except ValidationError as exc:
        raise ControlError(str(exc))
    if prune:
        try:
            present = sorted(listdir(control_dir))
        except OSError:
            present = []
        for name in present:
            if name in CATALOGUE and name not in files:
                entries.append({
                    "name": name,
                    "path": os.path.join(control_dir, name),
                    "content": None,
                    "effect": effect_of(name, flavour),
                })
    return entries, warnings
