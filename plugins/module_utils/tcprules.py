# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ucspi-tcp rules: validation of rule dicts, rendering of the source text, and compilation of
that text into the CDB that tcpserver reads, byte for byte as ucspi-tcp 0.88's `tcprules` does.

What tcprules does with each input line (and so what compile() does):

* a line starting with ``#`` and an empty line are skipped; trailing spaces, tabs and the newline
  are dropped; a line without a colon is skipped silently;
* the key is everything before the *first* colon, byte for byte (``1.2.3.``, ``=host``, ``=``, or
  nothing for the default rule); the rest must start with ``allow`` or ``deny``;
* the value is ``D\\0`` for deny (nothing for allow), then ``+NAME=value\\0`` per ``,NAME=qvalueq``,
  where the quote ``q`` is whatever character follows the ``=`` and the value runs to its next
  occurrence;
* a key without ``=`` and ``@`` that holds a ``-`` is a range: the number before the dash (back to
  the previous dot) up to the number after it (to the next dot, capped at 255) each give one key;
* every key is added in file order; duplicates are all stored, and a lookup finds the first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import hashlib
import itertools
import operator
import re

from ansible_collections.mailops.qmail.plugins.module_utils import addresses
from ansible_collections.mailops.qmail.plugins.module_utils import cdb
from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

_ULONG = 1 << 64
_CHUNK = 1 << 17
_QUOTES = "\"'/|%#^~!@+;"
# A range's ends are usually written 0..255 without leading zeros: looked up, not scanned.
_DECIMALS = [str(number).encode("ascii") for number in range(256)]
_NUMBERS = dict((text, number) for number, text in enumerate(_DECIMALS))
_COLON_TO_NEWLINE = bytes.maketrans(b":", b"\n")
_NOT_LINE_MARKS = bytes(sorted(set(range(256)) - set(b":\n-=@")))
# A range key: head (through the last dot before the first dash), bottom, top, tail.
_RANGE_PARTS = re.compile(rb"^((?:[^\n-]*\.)?)([^\n.-]*)-([^\n.]*)(.*)$", re.MULTILINE)
MANAGED_HEADER = "# Managed by Ansible (mailops.qmail.tcprules): local changes are overwritten.\n"


class TcpRulesError(ValidationError):
    """A rule or a source line that tcprules would refuse (or that we refuse to write)."""


# ---------------------------------------------------------------------------------------------
# compiling source text (tcprules semantics)
# ---------------------------------------------------------------------------------------------

def _scan_ulong(text, lineno, line):
    """getnum(): digits only (an empty string is 0), wrapping like a C unsigned long.

    getnum() scans a NUL-terminated copy, so a NUL ends the number and what follows it is ignored.
    """
    digits = text.split(b"\x00", 1)[0]
    if digits and not digits.isdigit():  # bytes.isdigit() is ASCII-only
        raise TcpRulesError("line %d: %r: %r in a range is not a number"
                            % (lineno, _show(line), _show(text)))
    # 10**64 is a multiple of 2**64, so the last 64 digits decide the wrapped value (and int()
    # refuses strings of more than 4300 digits).
    return int(digits[-64:] or b"0") % _ULONG


def _show(data):
    return data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data


def _parse_instructions(rest, lineno, line):
    """The CDB value for the part after the colon (``allow,A="x"`` ...)."""
    if rest.startswith(b"deny"):
        data = [b"D\x00"]
        rest = rest[4:]
    elif rest.startswith(b"allow"):
        data = []
        rest = rest[5:]
    else:
        raise TcpRulesError("line %d: %r: after the first colon tcprules expects allow or deny"
                            % (lineno, _show(line)))
    while rest:
        if rest[:1] != b",":
            raise TcpRulesError("line %d: %r: expected a comma before %r"
                                % (lineno, _show(line), _show(rest)))
        equals = rest.find(b"=")
        if equals < 0:
            raise TcpRulesError("line %d: %r: %r has no '='" % (lineno, _show(line), _show(rest)))
        name = rest[1:equals + 1]
        if equals + 1 >= len(rest):
            raise TcpRulesError("line %d: %r: the value of %r has no opening quote"
                                % (lineno, _show(line), _show(name[:-1])))
        quote = rest[equals + 1:equals + 2]
        end = rest.find(quote, equals + 2)
        if end < 0:
            raise TcpRulesError("line %d: %r: the value of %r has no closing %r"
                                % (lineno, _show(line), _show(name[:-1]), _show(quote)))
        data.append(b"+" + name + rest[equals + 2:end] + b"\x00")
        rest = rest[end + 1:]
    return b"".join(data)


def _range_keys(address, lineno, line):
    dash = address.find(b"-")
    left = address.rfind(b".", 0, dash) + 1
    right = address.find(b".", dash + 1)
    if right < 0:
        right = len(address)
    bottom = _scan_ulong(address[left:dash], lineno, line)
    top = min(_scan_ulong(address[dash + 1:right], lineno, line), 255)
    head, tail = address[:left], address[right:]
    return [head + str(number).encode("ascii") + tail for number in range(bottom, top + 1)]


def parse_source(text):
    """Return (keys, values): the CDB records tcprules makes from the source text (bytes).

    Raises TcpRulesError naming the line number, the line and the reason, where tcprules fails.
    """
    if not isinstance(text, bytes):
        text = text.encode("utf-8")
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects, none of them cyclic
    try:
        parsed = _parse_one_colon_lines(text)
        return parsed if parsed is not None else _parse_chunks(text)
    except TcpRulesError:
        # The line-by-line parser finds the first bad line and names it.
        return _parse_lines(text)
    finally:
        if collecting:
            gc.enable()


def _parse_one_colon_lines(text):
    """parse_source() for the usual text, whose every line but comments has exactly one colon.

    Then one translate() and one split() cut all the lines into key and rest at once. Returns
    None for any other text; raises TcpRulesError without a line number.
    """
    if not text.endswith(b"\n"):
        text += b"\n"
    if b"#" in text and (text.startswith(b"#") or b"\n#" in text):
        text = _without_comments(text)
    # Each line reduced to its colons, the newline and the '-', '=' and '@' that make a range.
    marks = text.translate(None, _NOT_LINE_MARKS)
    if marks.translate(None, b"-=@") != b":\n" * marks.count(b"\n"):
        return None
    fields = text.translate(_COLON_TO_NEWLINE).split(b"\n")
    keys = fields[0:-1:2]
    rests = fields[1::2]
    values = list(map(_Instructions().__getitem__, rests))
    ranges = _range_lines(marks) if b"-" in marks else None
    if ranges:
        return _expand_ranges(keys, values, ranges)
    return keys, values


class _Instructions(dict):
    """The CDB value of each distinct rest of a line, parsed the first time it is looked up."""

    def __missing__(self, rest):
        # tcprules drops trailing blanks from the line: with one colon, from the rest.
        value = self[rest] = _parse_instructions(rest.rstrip(b" \t"), 0, rest)
        return value


def _without_comments(text):
    """The text (ending in a newline) without its lines that start with '#'."""
    pieces = []
    start = 0
    comment = 0 if text.startswith(b"#") else text.find(b"\n#") + 1 or -1
    while comment >= 0:
        pieces.append(text[start:comment])
        start = text.find(b"\n", comment) + 1
        comment = text.find(b"\n#", start - 1) + 1 or -1
    pieces.append(text[start:])
    return b"".join(pieces)


def _range_lines(marks):
    """The numbers of the lines whose key is a range ('-', no '=' or '@'), from their marks."""
    pieces = (b"\n" + marks).split(b"\n-")
    # Each piece but the first follows a line whose marks start with '-'; the newlines before it
    # give that line's number.
    ends = itertools.accumulate(map(operator.add, map(bytes.count, pieces, itertools.repeat(b"\n")),
                                    itertools.repeat(1)))
    return [end - 1 for end, piece in zip(ends, pieces[1:]) if piece.lstrip(b"-")[:1] == b":"]


def _parse_chunks(text):
    """parse_source() for any text, by _parse_bulk() on slices of whole lines."""
    if len(text) <= _CHUNK:
        return _parse_bulk(text)
    # Slices of whole lines keep each step's working set in the CPU caches.
    keys = []
    values = []
    start = 0
    while start < len(text):
        end = text.find(b"\n", start + _CHUNK)
        end = len(text) if end < 0 else end + 1
        chunk_keys, chunk_values = _parse_bulk(text[start:end])
        keys += chunk_keys
        values += chunk_values
        start = end
    return keys, values


# One match per line tcprules reads: (range flag, address, rest). The flag group is non-empty when
# the address (up to the first colon) has a '-' and no '=' or '@': a range to expand.
_RULE_LINE = re.compile(rb"^(?!#)(?=([^:\n=@]*-[^:\n=@]*:))?([^:\n]*):(.*)$", re.MULTILINE)


def _parse_bulk(text):
    """parse_source() with the per-line work done by one regular expression over the text."""
    matches = _RULE_LINE.findall(text)
    if not matches:
        return [], []
    flags, addresses, rests = zip(*matches)
    if b" \n" in text or b"\t\n" in text or text.endswith((b" ", b"\t")):
        rests = [rest.rstrip(b" \t") for rest in rests]
    instructions = dict((rest, _parse_instructions(rest, 0, rest)) for rest in set(rests))
    keys = list(addresses)
    values = list(map(instructions.__getitem__, rests))
    if any(flags):
        return _expand_ranges(keys, values, list(itertools.compress(range(len(keys)), flags)))
    return keys, values


def _expand_ranges(keys, values, ranges):
    """Replace each range key (ranges: their indexes, in order) by the keys it stands for."""
    # One regular expression cuts every range key into head, bottom, top and tail at once.
    parts = _RANGE_PARTS.findall(b"\n".join([keys[index] for index in ranges]))
    new_keys = []
    new_values = []
    done = 0
    for index, (head, bottom, top, tail) in zip(ranges, parts):
        first = _NUMBERS.get(bottom)
        if first is None:
            first = _scan_ulong(bottom, 0, keys[index])
        last = _NUMBERS.get(top)
        if last is None:
            last = min(_scan_ulong(top, 0, keys[index]), 255)
        expanded = [head + number + tail for number in _DECIMALS[first:last + 1]]
        new_keys += keys[done:index]
        new_keys += expanded
        new_values += values[done:index]
        new_values += [values[index]] * len(expanded)
        done = index + 1
    new_keys += keys[done:]
    new_values += values[done:]
    return new_keys, new_values


def _parse_lines(text):
    keys = []
    values = []
    add_key = keys.append
    add_value = values.append
    instructions = {}
    lines = text.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for lineno, line in enumerate(lines, 1):
        if not line or line[:1] == b"#":
            continue
        line = line.rstrip(b" \t\n")
        address, colon, rest = line.partition(b":")
        if not colon:
            continue
        value = instructions.get(rest)
        if value is None:
            value = instructions[rest] = _parse_instructions(rest, lineno, line)
        if b"-" in address and b"=" not in address and b"@" not in address:
            for key in _range_keys(address, lineno, line):
                add_key(key)
                add_value(value)
        else:
            add_key(address)
            add_value(value)
    return keys, values


def compile_source(text):
    """The CDB (bytes) that `tcprules` writes for the source text."""
    keys, values = parse_source(text)
    return cdb.make(keys, values)


def cdb_matches(text, data):
    """Tell whether `data` (an existing CDB, or None) is what compile_source(text) would write."""
    if data is None:
        return False
    keys, values = parse_source(text)
    return cdb.verify(data, keys, values)


# ---------------------------------------------------------------------------------------------
# rules given as data: validation and rendering
# ---------------------------------------------------------------------------------------------

def normalize_match(match, field="match"):
    """Validate one rule's match and return the address as the rules file holds it.

    The forms are addresses.parse()'s; a CIDR network becomes a prefix or a range, a host name
    is lower-cased. Raises ValidationError naming the field and the match.
    """
    return addresses.parse(match, field).text


def _quote(value, field):
    for quote in _QUOTES:
        if quote not in value:
            return quote + value + quote
    raise TcpRulesError("%s: %r uses every quote character tcprules could use (%s)"
                        % (field, value, _QUOTES))


def _env_value(value, field):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TcpRulesError("%s: %r must be a string or an integer (quote 'true'/'false')"
                            % (field, value))
    if isinstance(value, int):
        try:
            value = str(value)
        except ValueError:  # Python writes no int of more than 4300 digits
            raise TcpRulesError("%s: a %d-bit number is too large for an environment variable"
                                % (field, value.bit_length()))
    if "\n" in value or "\r" in value or "\x00" in value:
        raise TcpRulesError("%s: %r contains a newline or NUL" % (field, value))
    _encodable(value, field)
    return value


def _encodable(text, field):
    """The rules file is UTF-8: a lone surrogate (from undecodable input) has no encoding."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TcpRulesError("%s: %r contains %r, a lone surrogate that no UTF-8 file can hold"
                            % (field, text, text[exc.start:exc.end]))


_RULE_KEYS = frozenset(("match", "action", "env", "comment"))


def _render_env(env, where):
    suffix = ""
    for name in env:
        field = "%s.env.%s" % (where, name)
        validate.env_name(name, field)
        suffix += "," + name + "=" + _quote(_env_value(env[name], field), field)
    return suffix


def render_rule(rule, index=0, env_cache=None, where=None):
    """The source line(s) for one rule dict: {match, action, env, comment}.

    env_cache (a dict) lets a caller rendering many rules check and quote each distinct set of
    environment variables once. where: how errors name the rule (default rules[INDEX]), so a
    role can name its own variable.
    """
    where = where or "rules[%d]" % index
    if not isinstance(rule, dict):
        raise TcpRulesError("%s: %r must be a dict with match, action, env, comment"
                            % (where, rule))
    if not _RULE_KEYS.issuperset(rule):
        raise TcpRulesError("%s: unknown key(s) %s; accepted: match, action, env, comment"
                            % (where, ", ".join(sorted(str(key) for key in set(rule) - _RULE_KEYS))))
    address = normalize_match(rule.get("match", ""), where + ".match")
    action = rule.get("action") or "allow"
    if action != "allow" and action != "deny":
        raise TcpRulesError("%s.action: %r must be allow or deny" % (where, action))
    line = address + ":" + action
    env = rule.get("env")
    if env:
        if not isinstance(env, dict):
            raise TcpRulesError("%s.env: %r must be a dict of NAME: value" % (where, env))
        try:
            # The value's type too: 1 == True, yet only the int is a valid value.
            signature = tuple((name, type(value), value) for name, value in env.items())
            suffix = None if env_cache is None else env_cache.get(signature)
        except TypeError:  # an unhashable value: _render_env names it
            signature = suffix = None
        if suffix is None:
            suffix = _render_env(env, where)
            if env_cache is not None and signature is not None:
                env_cache[signature] = suffix
        line += suffix
    comment = rule.get("comment")
    if comment:
        if not isinstance(comment, str):
            raise TcpRulesError("%s.comment: %r must be a string" % (where, comment))
        _encodable(comment, where + ".comment")
        return "".join(("# " + text).rstrip() + "\n" for text in comment.splitlines()) + line + "\n"
    return line + "\n"


def render(rules, header=True):
    """The whole source text for a list of rule dicts (validated; raises TcpRulesError)."""
    if not isinstance(rules, list):
        raise TcpRulesError("rules: %r must be a list of rule dicts" % (rules,))
    env_cache = {}
    parts = [MANAGED_HEADER] if header else []
    parts.extend(render_rule(rule, index, env_cache) for index, rule in enumerate(rules))
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# deciding what to write
# ---------------------------------------------------------------------------------------------

STAMP_PREFIX = "# cdb-sha256: "
STAMP_NOTE = " (the rules file compiled; lets mailops.qmail.tcprules skip unchanged rebuilds)\n"


def _stamp(cdb_bytes):
    return STAMP_PREFIX + hashlib.sha256(cdb_bytes).hexdigest() + STAMP_NOTE


def source_text(body, cdb_bytes):
    """The whole source file: managed header, the CDB's fingerprint, then the rules."""
    return (MANAGED_HEADER + _stamp(cdb_bytes) + body).encode("utf-8")


def up_to_date(body, current_source, current_cdb):
    """Tell, without compiling, whether both files already hold what `body` (rules text) needs.

    The source file we write carries the SHA-256 of the CDB compiled from it. When the current
    source is exactly the header, the fingerprint of the *current* CDB's bytes and the wanted
    rules, the CDB is what those rules compile to: it was written from them (by this module, or
    by `tcprules`, whose output is byte-identical). A hand-edited or corrupt CDB has another
    fingerprint, so it fails this test and is rebuilt.
    """
    if current_source is None or current_cdb is None:
        return False
    return current_source == source_text(body, current_cdb)


def plan(rules, current_source, current_cdb):
    """Validate the rules and return {source, cdb, source_changed, cdb_changed, compiled}.

    source and cdb are the wanted bytes (the current ones when they are up to date, in which case
    nothing was compiled). Raises TcpRulesError before anything could be written.
    """
    body = render(rules, header=False)
    if up_to_date(body, current_source, current_cdb):
        return dict(source=current_source, cdb=current_cdb, source_changed=False,
                    cdb_changed=False, compiled=False)
    keys, values = parse_source(body)
    wanted_cdb = cdb.make(keys, values)
    wanted_source = source_text(body, wanted_cdb)
    return dict(source=wanted_source, cdb=wanted_cdb,
                source_changed=wanted_source != current_source,
                cdb_changed=wanted_cdb != current_cdb, compiled=True)


def describe_cdb(data):
    """A one-line summary of a CDB for diffs: record count and fingerprint, or why it is bad."""
    if data is None:
        return ""
    fingerprint = hashlib.sha256(data).hexdigest()
    try:
        records = len(cdb.read(data))
    except cdb.CdbError as exc:
        return "corrupt CDB (%s), %d bytes, sha256 %s\n" % (exc, len(data), fingerprint)
    return "%d records, %d bytes, sha256 %s\n" % (records, len(data), fingerprint)
