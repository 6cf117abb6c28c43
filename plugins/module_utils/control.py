# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalogue of qmail control files and the planning of a control-directory update.

For every control file qmail (or a patch of a known flavour) reads, the catalogue says which of
qmail's readers reads it (the "kind"), how its values are checked, and what a running qmail must do
to take a change (the "effect"):

* ``none``: read per connection or per delivery (qmail-smtpd, qmail-remote, qmail-inject...);
* ``hup-send``: qmail-send rereads it on SIGHUP (locals, virtualdomains; concurrency* with the
  reread-concurrency patch);
* ``restart-send``: qmail-send reads it only at start;
* ``restart-smtpd``: read by the qmail-smtpd service's run script at start;
* ``newmrh``: morercpthosts, which takes effect once qmail-newmrh rebuilds morercpthosts.cdb.

read_line(), read_int(), read_list() and read_ipme() model those readers; a value is written only
if its reader model gives back exactly the value meant, so nothing is silently cut, skipped or
read as another number. plan() validates everything before anything is written and returns what
each file must become.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.mailops.qmail.plugins.module_utils import flavours
from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

EFFECTS = ("none", "hup-send", "restart-send", "restart-smtpd", "newmrh")
# The kinds of file, named after the reader that reads them.
SINGLE = "single"    # control_readline / control_rldef: the first line
INTEGER = "integer"  # control_readint: the leading digits of the first line
LIST = "list"        # control_readfile: one entry per line
IPLIST = "iplist"    # sagredo's ipme_readipfile (notipme): one ADDRESS or ADDRESS/MASK per line

# control_readint stores scan_ulong's unsigned long through an `int *` (control.c), and gcc
# wraps what does not fit: no integer file keeps more than INT_MAX.
INT_MAX = 2 ** 31 - 1
_ULONG_WRAP = 2 ** 64
_LEADING_DIGITS = re.compile(b"[0-9]*")


# Models of qmail's readers, written from notqmail's control.c, scan_ulong.c, getln.c and
# qmail-newmrh.c, and from sagredo's ipme.c and ip.c (sagredo-dev/qmail). Each takes a file's bytes
# (None: the file is absent) and returns what qmail keeps of it (None: qmail keeps its default).


def _scan_ulong(data):
    """scan_ulong.c: (value, length) of the leading ASCII digits of data.

    The unsigned long wraps past 2**64; only bytes '0'..'9' count as digits, never other Unicode
    digits (their UTF-8 bytes are all above 0x7f).
    """
    digits = _LEADING_DIGITS.match(data).group()
    value = 0
    for digit in bytearray(digits):
        value = (value * 10 + digit - 0x30) % _ULONG_WRAP
    return value, len(digits)


def read_line(data):
    """control_readline, and control_rldef when the file exists: the first line, with trailing
    spaces, tabs and newlines stripped (control.c striptrailingwhitespace). Nothing else is
    stripped, and an empty file reads as an empty value, not as the default."""
    if data is None:
        return None
    return data.split(b"\n", 1)[0].rstrip(b" \t")


def read_int(data):
    """control_readint: scan_ulong over read_line's value, so only the leading ASCII digits count
    and whatever follows them is ignored. With no digit at all it returns 0 and qmail keeps its
    compiled-in default (None). The result goes through an `int *`: it wraps past INT_MAX."""
    line = read_line(data)
    if line is None:
        return None
    value, length = _scan_ulong(line)
    if not length:
        return None
    return (value + 2 ** 31) % 2 ** 32 - 2 ** 31


def read_list(data):
    """control_readfile (and qmail-newmrh for morercpthosts): one entry per line, trailing spaces
    and tabs stripped; lines that are then empty or start with '#' are skipped. Entries are kept
    NUL-terminated, so a NUL inside a line splits it, and one at its start skips it."""
    if data is None:
        return None
    entries = []
    for line in data.split(b"\n"):
        line = line.rstrip(b" \t")
        if line[:1] not in (b"", b"\0", b"#"):
            entries.extend(line.split(b"\0"))
    return entries


def _ip_scan(text):
    """ip.c ip_scan: four scan_ulong numbers joined by '.', each kept as an unsigned char; what
    follows the fourth is ignored. None when it reads no address."""
    octets = []
    for index in range(4):
        value, length = _scan_ulong(text)
        if not length:
            return None
        octets.append(value % 256)
        text = text[length:]
        if index < 3:
            if text[:1] != b".":
                return None
            text = text[1:]
    return tuple(octets)


def read_ipme(data):
    """sagredo's ipme_readipfile (ipme.c), which reads control/notipme: from each line it drops
    the last byte (the newline, or a real character on a last line without one), then reads
    ADDRESS or ADDRESS/MASK with ip_scan. A MASK is a dotted quad; a line it cannot read, such as
    one with a prefix length ('/8'), is skipped. Returns (address, mask) pairs of 4-tuples."""
    if data is None:
        return None
    pieces = data.split(b"\n")
    lines = [piece + b"\n" for piece in pieces[:-1]] + [piece for piece in pieces[-1:] if piece]
    entries = []
    for line in lines:
        address, slash, mask = line[:-1].split(b"\0", 1)[0].partition(b"/")
        netmask = _ip_scan(mask) if slash else (255, 255, 255, 255)
        ip = _ip_scan(address)
        if ip is not None and netmask is not None:
            entries.append((ip, netmask))
    return entries


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


def _delivery(value, field):
    """defaultdelivery: the rc script passes `grep -v '^#' control/defaultdelivery` to qmail-start,
    and qmail-local reads it as .qmail lines, so a leading '#' makes it a comment."""
    validate.single_line(value, field)
    if not value or value.startswith("#"):
        raise ValidationError("%s: %r is no delivery: the rc script and qmail-local skip empty and "
                              "'#' lines (a mailbox such as ./Maildir/ or a |program is accepted)"
                              % (field, value))
    return value


def _notipme(value, field):
    """notipme: ADDRESS or ADDRESS/MASK, both dotted quads; returns the (address, mask) meant."""
    address, slash, mask = value.partition("/")
    try:
        validate.ipv4(address, field)
        if slash:
            validate.ipv4(mask, field)
    except ValidationError:
        raise ValidationError("%s: %r is not an IPv4 address or ADDRESS/MASK with a dotted mask "
                              "such as 127.0.0.0/255.0.0.0 (sagredo's ipme reader skips any other "
                              "line, a prefix length such as /8 included)" % (field, value))
    return tuple(tuple(int(part) for part in quad.split("."))
                 for quad in (address, mask if slash else "255.255.255.255"))


def _how_qmail_reads(value):
    """'; qmail would read N' for a string that is not plain digits, from the read_int model."""
    if not isinstance(value, str) or (value.isascii() and value.isdigit()):
        return ""
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    number = read_int(data + b"\n")
    if number is None:
        return "; qmail would find no number in it and keep its default"
    return "; qmail would read %d" % number


def _whole_number(value, field, minimum, maximum=INT_MAX, why=" (qmail reads it into a C int)"):
    try:
        return validate.integer(value, field, minimum, maximum, why)
    except ValidationError as exc:
        raise ValidationError(str(exc) + _how_qmail_reads(value))


def _integer(minimum):
    def check(value, field):
        return _whole_number(value, field, minimum)
    return check


def _concurrency(value, field, flavour):
    if flavours.supports(flavour, "big_concurrency"):
        return _whole_number(value, field, 1, 65000, "")
    return _whole_number(value, field, 1, 255,
                         " (the %r flavour lacks big-concurrency, so 255 is the limit)" % flavour)


# name: (kind, check, effect, flavour feature or None); the readers come from notqmail's
# qmail-send.c, qmail-smtpd.c, qmail-remote.c and qmail-inject.c and the patches' sources.
CATALOGUE = {
    # qmail-send, at start (and on HUP where noted)
    "me": (SINGLE, _host, "restart-send", None),
    "bouncefrom": (SINGLE, _local_part, "restart-send", None),
    "bouncehost": (SINGLE, _host, "restart-send", None),
    "concurrencylocal": (INTEGER, "concurrency", "concurrency", None),
    "concurrencyremote": (INTEGER, "concurrency", "concurrency", None),
    "doublebouncehost": (SINGLE, _host, "restart-send", None),
    "doublebounceto": (SINGLE, _local_part, "restart-send", None),
    "envnoathost": (SINGLE, _host, "restart-send", None),
    "percenthack": (LIST, _host, "restart-send", None),
    "queuelifetime": (INTEGER, _integer(0), "restart-send", None),
    "locals": (LIST, _host, "hup-send", None),
    "virtualdomains": (LIST, _virtualdomain, "hup-send", None),
    "bouncemaxbytes": (INTEGER, _integer(0), "restart-send", "bouncemaxbytes"),
    "defaultdelivery": (SINGLE, _delivery, "restart-send", None),
    # qmail-smtpd, per connection
    "rcpthosts": (LIST, _domain_or_sub, "none", None),
    "morercpthosts": (LIST, _domain_or_sub, "newmrh", None),
    "badmailfrom": (LIST, "bad", "none", None),
    "badmailto": (LIST, "bad", "none", "badmailto"),
    "badrcptto": (LIST, _bad_address, "none", "badrcptto"),
    "morebadrcptto": (LIST, _bad_address, "none", "morebadrcptto"),
    "databytes": (INTEGER, _integer(0), "none", None),
    "localiphost": (SINGLE, _host, "none", None),
    "smtpgreeting": (SINGLE, _text, "none", None),
    "timeoutsmtpd": (INTEGER, _integer(1), "none", None),
    "tarpitcount": (INTEGER, _integer(0), "none", "tarpit"),
    "tarpitdelay": (INTEGER, _integer(0), "none", "tarpit"),
    # sagredo: any @, % or ! in the local part gets 553 at RCPT when it holds a number above 0
    "rejectrelaytest": (INTEGER, _integer(0), "none", "rejectrelaytest"),
    # the qmail-smtpd run script, at service start (head -n 1 into tcpserver -c, which reads
    # it with scan_ulong as control_readint does)
    "concurrencyincoming": (INTEGER, _integer(1), "restart-smtpd", None),
    # qmail-remote, per delivery
    "helohost": (SINGLE, _host, "none", None),
    "timeoutconnect": (INTEGER, _integer(1), "none", None),
    "timeoutremote": (INTEGER, _integer(1), "none", None),
    "notipme": (IPLIST, _notipme, "none", "notipme"),
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


def _repr(value):
    """repr() that survives ints Python refuses to print (more than 4300 digits)."""
    try:
        return repr(value)
    except ValueError:
        return "a %s holding a number too large to print" % type(value).__name__


def _one_line(value, field):
    """A value for one line: a string, or an int in decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 64:
            raise ValidationError("%s: a %d-bit number is beyond what qmail's scan_ulong can hold "
                                  "(an unsigned long, at most %d)"
                                  % (field, value.bit_length(), _ULONG_WRAP - 1))
        return "%d" % value
    return validate.single_line(value, field)


def _shown(reading):
    if reading is None or reading == []:
        return "nothing"
    if isinstance(reading, list):
        return ", ".join(_shown(item) for item in reading)
    if isinstance(reading, bytes):
        return repr(reading.decode("utf-8", "replace"))
    return str(reading)


def _cause(line):
    """Why qmail's readers would not keep `line` (a line without its newline) as written."""
    if line != line.rstrip(b" \t"):
        return " (qmail strips trailing spaces and tabs)"
    if not line:
        return " (qmail skips empty lines)"
    if line.startswith(b"#"):
        return " (qmail takes a line starting with '#' for a comment)"
    return ""


def _read_back(field, value, content, reader, meant):
    """content, provided the model of qmail's reader reads exactly `meant` from it."""
    reading = reader(content)
    if reading != meant:
        raise ValidationError("%s: %r would not reach qmail as written: it would read %s%s"
                              % (field, value, _shown(reading), _cause(content.split(b"\n")[0])))
    return content


def _render_value(name, value, flavour, warnings, field):
    """The bytes of one control file, or None for absent; raises ValidationError."""
    if value is None:
        return None
    entry = CATALOGUE.get(name)
    if entry is None:
        warnings.append("%s: %r is not a control file this module knows; written as given "
                        "without checks" % (field, name))
        kind = LIST if isinstance(value, list) else SINGLE
    else:
        kind = entry[0]
        if entry[3]:
            try:
                flavours.require(flavour, entry[3], field)
            except flavours.FlavourError as exc:
                raise ValidationError(str(exc))
    if kind in (SINGLE, INTEGER):
        if isinstance(value, (list, dict, bool)):
            raise ValidationError("%s: %s: %s holds one value (a string or an integer)"
                                  % (field, _repr(value), name))
        if entry is None:
            return (_one_line(value, field) + "\n").encode("utf-8")
        if kind == INTEGER:
            number = _check_entry(name, value, field, flavour)
            return _read_back(field, value, b"%d\n" % number, read_int, number)
        text = _one_line(value, field)
        line = text.encode("utf-8")
        content = _read_back(field, value, line + b"\n", read_line, line)
        _check_entry(name, text, field, flavour)
        return content
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise ValidationError("%s: %s: %s holds a list (one entry per line)"
                              % (field, _repr(value), name))
    lines = []
    for index, item in enumerate(value):
        item_field = "%s[%d]" % (field, index)
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ValidationError("%s: %s must be a string" % (item_field, _repr(item)))
        text = _one_line(item, item_field)
        line = text.encode("utf-8") + b"\n"
        if kind == IPLIST:
            _read_back(item_field, item, line, read_ipme, [_notipme(text, item_field)])
        elif entry is not None:
            _read_back(item_field, item, line, read_list, [line[:-1]])
            _check_entry(name, text, item_field, flavour)
        lines.append(line)
    return b"".join(lines)


def _check_name(name):
    if not isinstance(name, str) or not name or "/" in name or name in (".", "..") or "\x00" in name:
        raise ValidationError("files: %s is not a plain file name (no slash)" % _repr(name))
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("files: %r contains a lone surrogate; a file name of real characters "
                              "is accepted" % (name,))
    if name in FOREIGN:
        raise ValidationError("files.%s: %s is managed by %s, not by this module"
                              % (name, name, FOREIGN[name]))


def _check_variables(variables):
    """variables: control file name -> the name of the user's variable, for error messages."""
    if not isinstance(variables, dict) or not all(
            isinstance(key, str) and isinstance(label, str) and label
            for key, label in variables.items()):
        raise ValidationError("variables: %s must map control file names to variable names "
                              "(non-empty strings), such as {databytes: smtpd_databytes}"
                              % _repr(variables))
    return variables


def plan(control_dir, files, flavour=flavours.DEFAULT_FLAVOUR, prune=False, listdir=os.listdir,
         variables=None):
    """Validate `files` and return (entries, warnings) without touching anything.

    entries: list of dicts {name, path, content (bytes or None for absent), effect}, the named
    files first (in the order given), then the catalogued files that prune removes.
    variables: control file name -> the variable the value came from; errors name that variable
    instead of files.NAME.
    Raises ControlError naming the field, the value and what is accepted.
    """
    try:
        flavours.flavour_info(flavour)
    except flavours.FlavourError as exc:
        raise ControlError("flavour: %s" % exc)
    if not isinstance(files, dict):
        raise ControlError("files: %s must be a dict of control file name to value" % _repr(files))
    warnings = []
    entries = []
    try:
        labels = _check_variables({} if variables is None else variables)
        for name, value in files.items():
            _check_name(name)
            field = labels.get(name, "files.%s" % name)
            entries.append({
                "name": name,
                "path": os.path.join(control_dir, name),
                "content": _render_value(name, value, flavour, warnings, field),
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
