# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure core of qmail-filter, the collection's QMAILQUEUE content filter.

qmail-smtpd (like every qmail.c client) runs $QMAILQUEUE with the message on fd 0 and, once the
message is written and closed, the envelope on fd 1: `F<sender>\\0`, `T<recipient>\\0` per
recipient, then `\\0`. qmail-filter reads both, asks clamd and spamd, then runs the real
qmail-queue with the message (headers added in front) and the unchanged envelope, and exits with
its status. qmail.c turns an exit status into the SMTP reply: 11..40 permanent (554), anything
else but 0 temporary (451).

This file holds what can be decided without I/O: the policy (parsed from a JSON file the role
writes), the envelope grammar of qmail-queue, header insertion, the spamd and clamd codecs and the
decision. The program beside it (roles/content_filter/files/qmail-filter) does the socket and
process work. It is installed on the mail host next to that program, where Ansible is not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import math
import re
import struct

try:
    from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
except ImportError:
    # Installed on the host beside qmail-filter, where the collection is not.
    class ValidationError(ValueError):
        pass

# Exit statuses, with the reply qmail.c's qmail_close gives each (netqmail, notqmail, sagredo).
EXIT_REJECT = 31  # "Dmail server permanently rejected message (#5.3.0)" -> 554
EXIT_READ = 54  # "Zqq read error (#4.3.0)": the message or envelope could not be read
EXIT_CONFIG = 55  # "Zqq unable to read configuration (#4.3.0)"
EXIT_DEFER = 71  # "Zmail server temporarily rejected message (#4.3.0)" -> 451
EXIT_BUG = 81  # "Zqq internal bug (#4.3.0)": the real qmail-queue died from a signal
EXIT_ENVELOPE = 91  # what qmail-queue itself exits with for a malformed envelope ("qq internal bug")
EXIT_EXEC = 120  # "Zunable to exec qq (#4.3.0)", as qmail.c says when its own execv fails

SPAM_ACTIONS = ("tag", "reject")
VIRUS_ACTIONS = ("reject", "tag")
DEFAULTS = collections.OrderedDict([
    ("queue_program", "/var/qmail/bin/qmail-queue"),
    ("spamd_enabled", True),
    # Debian's spamd listens on 127.0.0.1:783; an absolute path selects a UNIX socket.
    ("spamd_address", "127.0.0.1:783"),
    ("spamd_user", ""),
    ("spamd_timeout", 60),
    # spamc's own default limit: larger messages are passed unscanned, with a header saying so.
    ("spamd_max_bytes", 512000),
    ("spam_action", "tag"),
    ("tag_score", 5.0),
    ("reject_score", 10.0),
    ("clamd_enabled", False),
    ("clamd_address", "/var/run/clamav/clamd.ctl"),
    ("clamd_timeout", 60),
    # clamd's default StreamMaxLength (25M): a larger stream is cut off by clamd with an ERROR.
    ("clamd_max_bytes", 26214400),
    ("virus_action", "reject"),
    ("fail_open", False),
])
Policy = collections.namedtuple("Policy", list(DEFAULTS))
# ("unix", path) or ("tcp", host, port)
UNIX = "unix"
TCP = "tcp"

_DECIMAL = re.compile(r"\A-?[0-9]+(?:\.[0-9]+)?\Z")
_COUNT = re.compile(r"\A[1-9][0-9]*\Z")
_PORT = re.compile(r"\A[1-9][0-9]{0,4}\Z")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TCP_ADDRESS = re.compile(r"\A(%s(?:\.%s)*):([0-9]+)\Z" % (_HOST_LABEL, _HOST_LABEL))
_TCP6_ADDRESS = re.compile(r"\A\[([0-9A-Fa-f:.]+)\]:([0-9]+)\Z")
# spamd reads the User header up to the end of its line; a user name never needs more than this.
_SPAMD_USER = re.compile(r"\A[A-Za-z0-9._][A-Za-z0-9._-]{0,63}\Z")
MAX_TIMEOUT = 3600
MAX_BYTES = 2 ** 31 - 1


def _number(name, value, minimum=None, maximum=None):
    """A finite number from JSON (int or float) or a decimal string such as '5' or '-0.5'."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValidationError("%s: %r is not a number; give a decimal such as 5 or 7.5" % (name, value))
    if isinstance(value, str):
        if not _DECIMAL.match(value):
            raise ValidationError("%s: %r is not a number; give a decimal such as 5 or 7.5 "
                                  "(a point, not a comma; no exponent, inf or nan)" % (name, value))
        number = float(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("%s: %r is not a finite number; give a decimal such as 5 or 7.5" % (name, value))
    else:
        number = float(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValidationError("%s: %r is out of range; give a number from %s to %s"
                              % (name, value, minimum, maximum))
    return number


def _count(name, value, maximum):
    """A positive whole number, from a JSON integer or a string of digits."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _COUNT.match(value))):
        raise ValidationError("%s: %r is not a whole number; give one from 1 to %d" % (name, value, maximum))
    number = int(value)
    if not 1 <= number <= maximum:
        raise ValidationError("%s: %r is out of range; give a whole number from 1 to %d" % (name, value, maximum))
    return number


def _boolean(name, value):
    if not isinstance(value, bool):
        raise ValidationError("%s: %r is not a boolean; give true or false" % (name, value))
    return value


def _choice(name, value, choices):
    if value not in choices:
        raise ValidationError("%s: %r is not one of %s" % (name, value, ", ".join(choices)))
    return value


def _string(name, value):
    if not isinstance(value, str):
        raise ValidationError("%s: %r is not a string" % (name, value))
    return value


def parse_address(name, value):
    """A scanner's address: an absolute path (UNIX socket), HOST:PORT or [IPV6]:PORT."""
    text = _string(name, value)
    if text.startswith("/"):
        if "\0" in text or len(text.encode("utf-8")) > 107:
            raise ValidationError("%s: %r is not a usable UNIX socket path (at most 107 bytes, no NUL)"
                                  % (name, value))
        return (UNIX, text)
    match = _TCP_ADDRESS.match(text) or _TCP6_ADDRESS.match(text)
    if not match or (len(match.group(1)) > 253):
        raise ValidationError("%s: %r is not an address; give an absolute socket path such as "
                              "/var/run/clamav/clamd.ctl, HOST:PORT such as 127.0.0.1:783 or [::1]:783"
                              % (name, value))
    port = match.group(2)
    if not _PORT.match(port) or int(port) > 65535:
        raise ValidationError("%s: %r has port %s; give a port from 1 to 65535" % (name, value, port))
    return (TCP, match.group(1), int(port))


def parse_config(settings):
    """A Policy from a mapping of settings; every refusal names the setting and the value."""
    if not isinstance(settings, dict):
        raise ValidationError("qmail-filter configuration: %r is not a mapping of settings" % (settings,))
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValidationError("qmail-filter configuration: unknown setting(s) %s; known: %s"
                              % (", ".join(repr(key) for key in unknown), ", ".join(DEFAULTS)))
    merged = dict(DEFAULTS, **settings)
    queue_program = _string("queue_program", merged["queue_program"])
    if not queue_program.startswith("/") or "\0" in queue_program:
        raise ValidationError("queue_program: %r is not an absolute path such as /var/qmail/bin/qmail-queue"
                              % (queue_program,))
    spamd_user = _string("spamd_user", merged["spamd_user"])
    if spamd_user and not _SPAMD_USER.match(spamd_user):
        raise ValidationError("spamd_user: %r is not a user name (letters, digits, '.', '_', '-'; "
                              "at most 64; empty for spamd's default)" % (spamd_user,))
    policy = Policy(
        queue_program=queue_program,
        spamd_enabled=_boolean("spamd_enabled", merged["spamd_enabled"]),
        spamd_address=parse_address("spamd_address", merged["spamd_address"]),
        spamd_user=spamd_user,
        spamd_timeout=_number("spamd_timeout", merged["spamd_timeout"], 1, MAX_TIMEOUT),
        spamd_max_bytes=_count("spamd_max_bytes", merged["spamd_max_bytes"], MAX_BYTES),
        spam_action=_choice("spam_action", merged["spam_action"], SPAM_ACTIONS),
        tag_score=_number("tag_score", merged["tag_score"]),
        reject_score=_number("reject_score", merged["reject_score"]),
        clamd_enabled=_boolean("clamd_enabled", merged["clamd_enabled"]),
        clamd_address=parse_address("clamd_address", merged["clamd_address"]),
        clamd_timeout=_number("clamd_timeout", merged["clamd_timeout"], 1, MAX_TIMEOUT),
        clamd_max_bytes=_count("clamd_max_bytes", merged["clamd_max_bytes"], MAX_BYTES),
        virus_action=_choice("virus_action", merged["virus_action"], VIRUS_ACTIONS),
        fail_open=_boolean("fail_open", merged["fail_open"]),
    )
    if policy.spam_action == "reject" and policy.reject_score < policy.tag_score:
        raise ValidationError("reject_score: %r is below tag_score %r; with spam_action reject, give a "
                              "reject_score at or above tag_score" % (merged["reject_score"], merged["tag_score"]))
    return policy


def _refuse_constant(constant):
    raise ValidationError("qmail-filter configuration: %s is not a number; give a decimal such as 5 or 7.5"
                          % constant)


def _unique_keys(pairs):
    keys = [key for key, dummy in pairs]
    repeated = sorted(set(key for key in keys if keys.count(key) > 1))
    if repeated:
        raise ValidationError("qmail-filter configuration: setting(s) %s given more than once"
                              % ", ".join(repr(key) for key in repeated))
    return dict(pairs)


def load_config(text, source="qmail-filter configuration"):
    """A Policy from the JSON text of the configuration file."""
    try:
        settings = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError("%s: not valid JSON: %s" % (source, exc))
    return parse_config(settings)


Envelope = collections.namedtuple("Envelope", "sender recipients")


class EnvelopeError(ValidationError):
    """An envelope qmail-queue would refuse; exit_code is the status qmail-queue would exit with."""

    def __init__(self, message, exit_code):
        super(EnvelopeError, self).__init__(message)
        self.exit_code = exit_code


def parse_envelope(data):
    """The sender and recipients of qmail-queue's envelope bytes.

    The grammar is qmail-queue.c's: 'F' address NUL, then ('T' address NUL)*, then NUL; it exits 91
    for any other leading byte and 54 when the envelope ends early. Bytes after the final NUL,
    which qmail-queue would ignore but no qmail.c client writes, are refused too: they mean the
    client is not what qmail-filter expects. Address length is left to the real qmail-queue (11).
    """
    if not data:
        raise EnvelopeError("envelope: empty", EXIT_READ)
    if data[:1] != b"F":
        raise EnvelopeError("envelope: starts with %r, not 'F'" % data[:1], EXIT_ENVELOPE)
    end = data.find(b"\0", 1)
    if end < 0:
        raise EnvelopeError("envelope: ends inside the sender", EXIT_READ)
    sender = data[1:end]
    recipients = []
    position = end + 1
    while data[position:position + 1] != b"\0":
        kind = data[position:position + 1]
        if not kind:
            raise EnvelopeError("envelope: ends before its final NUL", EXIT_READ)
        if kind != b"T":
            raise EnvelopeError("envelope: field %d starts with %r, not 'T'" % (len(recipients) + 2, kind),
                                EXIT_ENVELOPE)
        end = data.find(b"\0", position + 1)
        if end < 0:
            raise EnvelopeError("envelope: ends inside recipient %d" % (len(recipients) + 1), EXIT_READ)
        recipients.append(data[position + 1:end])
        position = end + 1
    if position + 1 != len(data):
        raise EnvelopeError("envelope: %d byte(s) after the final NUL" % (len(data) - position - 1), EXIT_ENVELOPE)
    return Envelope(sender, recipients)


def header_text(text, limit=200):
    """Text safe inside one header line: printable ASCII only, at most `limit` characters."""
    cleaned = "".join(char if " " <= char <= "~" else "?" for char in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 3] + "..."


def _fold(name, value, newline, width=78):
    """One header field, folded before spaces and after commas so no line grows past `width`."""
    lines = [name + ":"]
    for word_index, word in enumerate(value.split(" ")):
        pieces = re.findall(r"[^,]*,|[^,]+", word) or [""]
        for piece_index, piece in enumerate(pieces):
            joiner = " " if piece_index == 0 else ""
            if len(lines[-1]) + len(joiner) + len(piece) > width and lines[-1].strip() and \
                    not (word_index == 0 and piece_index == 0):
                lines.append("\t" + piece)
            else:
                lines[-1] += joiner + piece
    return newline.join(line.encode("ascii") for line in lines) + newline


def add_headers(message, headers):
    """The message with header fields (name, value) in front of its first line.

    New lines end as the message's first line does (CRLF or LF); the message's own bytes follow
    unchanged. Values are cleaned by header_text, so nothing from a scanner can start a new field.
    """
    if not headers:
        return message
    first_end = message.find(b"\n")
    newline = b"\r\n" if first_end > 0 and message[first_end - 1:first_end] == b"\r" else b"\n"
    return b"".join(_fold(name, header_text(value, 900), newline) for name, value in headers) + message


class ScannerError(ValidationError):
    """A scanner that did not give a verdict: down, timed out, or answered something unexpected."""


SpamVerdict = collections.namedtuple("SpamVerdict", "score symbols")
VirusVerdict = collections.namedtuple("VirusVerdict", "name")  # name None: clean
# A scanner that was not asked, and why; failed: it was asked and gave no verdict.
NotScanned = collections.namedtuple("NotScanned", "reason failed")

SPAMD_COMMAND = "SYMBOLS"
_SPAMD_STATUS = re.compile(r"\ASPAMD/([0-9]+\.[0-9]+) +([0-9]+) *(.*)\Z")
_SPAMD_SPAM = re.compile(r"\A(True|False|Yes|No) ; (-?[0-9]+(?:\.[0-9]+)?) / (-?[0-9]+(?:\.[0-9]+)?)\Z")
_SYMBOL = re.compile(r"\A[A-Za-z0-9_.-]{1,64}\Z")
MAX_SYMBOLS = 60


def spamd_request(message, user=""):
    """A SYMBOLS request: spamd scores the message and names the rules hit, leaving it unchanged."""
    head = "%s SPAMC/1.5\r\nContent-length: %d\r\n" % (SPAMD_COMMAND, len(message))
    if user:
        head += "User: %s\r\n" % user
    return head.encode("ascii") + b"\r\n" + message


def parse_spamd_response(data):
    """The SpamVerdict in spamd's reply to SYMBOLS, or ScannerError saying what was wrong."""
    head, separator, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = _SPAMD_STATUS.match(lines[0])
    if not status:
        raise ScannerError("spamd answered %r, not a SPAMD status line" % header_text(lines[0], 80))
    if status.group(2) != "0":
        raise ScannerError("spamd refused the message: %s %s" % (status.group(2), header_text(status.group(3), 120)))
    if not separator:
        raise ScannerError("spamd's reply ended before its headers did")
    fields = {}
    for line in lines[1:]:
        key, colon, value = line.partition(":")
        if not colon:
            raise ScannerError("spamd sent a header line without ':': %r" % header_text(line, 80))
        fields[key.strip().lower()] = value.strip()
    spam = _SPAMD_SPAM.match(fields.get("spam", ""))
    if not spam:
        raise ScannerError("spamd's reply has no 'Spam: True|False ; SCORE / THRESHOLD' header")
    length = fields.get("content-length")
    if length is not None and (not length.isdigit() or int(length) != len(body)):
        raise ScannerError("spamd's reply is cut short: Content-length %s, %d byte(s) received"
                           % (header_text(length, 20), len(body)))
    words = [word.strip() for word in body.decode("latin-1").split(",") if word.strip()]
    symbols = [word for word in words if _SYMBOL.match(word)][:MAX_SYMBOLS]
    return SpamVerdict(float(spam.group(2)), symbols)


CLAMD_COMMAND = b"zINSTREAM\0"
CLAMD_CHUNK = 65536
CLAMD_END = struct.pack(">I", 0)


def clamd_instream(message, chunk_size=CLAMD_CHUNK):
    """The byte strings to send clamd for INSTREAM: the command, length-prefixed chunks, the end."""
    yield CLAMD_COMMAND
    view = memoryview(message)
    for start in range(0, len(message), chunk_size):
        chunk = view[start:start + chunk_size]
        yield struct.pack(">I", len(chunk)) + chunk.tobytes()
    yield CLAMD_END


def parse_clamd_response(data):
    """The VirusVerdict in clamd's reply to zINSTREAM, or ScannerError saying what was wrong."""
    if not data.endswith(b"\0"):
        raise ScannerError("clamd's reply %r ended without its NUL" % header_text(data.decode("latin-1"), 80))
    reply = data[:-1].decode("latin-1")
    if "\0" in reply:
        raise ScannerError("clamd sent more than one reply")
    if reply == "stream: OK":
        return VirusVerdict(None)
    if reply.startswith("stream: ") and reply.endswith(" FOUND") and len(reply) > len("stream:  FOUND"):
        return VirusVerdict(reply[len("stream: "):-len(" FOUND")])
    if "size limit exceeded" in reply:
        raise ScannerError("clamd refused the stream (%s); clamd_max_bytes must not exceed clamd's "
                           "StreamMaxLength" % header_text(reply, 80))
    if reply.endswith("ERROR"):
        raise ScannerError("clamd could not scan: %s" % header_text(reply, 120))
    raise ScannerError("clamd answered %r" % header_text(reply, 80))


# exit_code is None for DELIVER: the status is then the real qmail-queue's.
Decision = collections.namedtuple("Decision", "action exit_code headers reason")
DELIVER = "deliver"
REJECT = "reject"
DEFER = "defer"


def _score(number):
    return "%.1f" % number


def decide(policy, spam, virus):
    """What to do with a message, from each scanner's outcome (None when it was not asked).

    Any certain reason to reject wins (a virus first); then a scanner without a verdict defers the
    message unless fail_open is set; otherwise the message is delivered with headers that report
    each verdict. Scores are compared with the policy's own tag_score and reject_score, not with
    spamd's threshold.
    """
    if isinstance(virus, VirusVerdict) and virus.name is not None and policy.virus_action == "reject":
        return Decision(REJECT, EXIT_REJECT, [], "virus %s" % header_text(virus.name, 100))
    if isinstance(spam, SpamVerdict) and policy.spam_action == "reject" and spam.score >= policy.reject_score:
        return Decision(REJECT, EXIT_REJECT, [], "spam score %s >= reject_score %s"
                        % (_score(spam.score), _score(policy.reject_score)))
    failures = [("clamd", outcome) for outcome in (virus,) if isinstance(outcome, NotScanned) and outcome.failed]
    failures += [("spamd", outcome) for outcome in (spam,) if isinstance(outcome, NotScanned) and outcome.failed]
    if failures and not policy.fail_open:
        return Decision(DEFER, EXIT_DEFER, [], "; ".join("%s: %s" % (name, outcome.reason)
                                                         for name, outcome in failures))
    headers = []
    notes = []
    if isinstance(virus, VirusVerdict):
        if virus.name is None:
            headers.append(("X-Virus-Status", "Clean"))
            notes.append("virus clean")
        else:
            headers.append(("X-Virus-Status", "Infected, %s" % virus.name))
            notes.append("virus %s tagged" % header_text(virus.name, 100))
    if isinstance(spam, SpamVerdict):
        is_spam = spam.score >= policy.tag_score
        if is_spam:
            headers.append(("X-Spam-Flag", "YES"))
        headers.append(("X-Spam-Score", _score(spam.score)))
        headers.append(("X-Spam-Status", "%s, score=%s required=%s tests=%s" % (
            "Yes" if is_spam else "No", _score(spam.score), _score(policy.tag_score),
            ",".join(spam.symbols) or "none")))
        notes.append("spam score %s" % _score(spam.score))
    for name, outcome in (("clamd", virus), ("spamd", spam)):
        if isinstance(outcome, NotScanned):
            reason = "%s (fail_open)" % outcome.reason if outcome.failed else outcome.reason
            headers.append(("X-Content-Filter", "not scanned by %s: %s" % (name, reason)))
            notes.append("%s not scanned: %s" % (name, reason))
    return Decision(DELIVER, None, headers, ", ".join(notes) or "no scanner enabled")
