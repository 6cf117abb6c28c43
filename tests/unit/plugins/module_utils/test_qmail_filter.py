# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""qmail-filter, the QMAILQUEUE content filter: its pure core, and the installed program run end to end.

The end-to-end tests run roles/content_filter/files/qmail-filter as qmail-smtpd would, with its
module beside it as the role installs them, against test doubles of spamd (TCP) and clamd (UNIX
socket) and a queue recorder program in place of qmail-queue that stores what it was given on
fd 0 and fd 1 and exits with the status the test chooses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import re
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import qmail_filter
from ansible_collections.mailops.qmail.plugins.module_utils.qmail_filter import (
    DEFER,
    DELIVER,
    REJECT,
    NotScanned,
    SpamVerdict,
    VirusVerdict,
)
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PROGRAM = os.path.join(REPO, "roles", "content_filter", "files", "qmail-filter")
MODULE = os.path.join(REPO, "plugins", "module_utils", "qmail_filter.py")

GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLEAN = (b"Received: (qmail 4242 invoked from network); 2 Dec 2026 06:30:00 -0000\n"
         b"From: alice@example.com\nTo: bob@example.org\nSubject: lunch\n\nSee you at noon.\n.\n\n")
ENVELOPE = b"Falice@example.com\0Tbob@example.org\0Tcarol@example.org\0\0"


def envelope_of(sender, recipients):
    return b"F" + sender + b"\0" + b"".join(b"T" + rcpt + b"\0" for rcpt in recipients) + b"\0"


def policy(**settings_):
    return qmail_filter.parse_config(settings_)


# ---------------------------------------------------------------------------------------------
# Configuration


def test_defaults_are_debians_scanners_and_qmails_queue():
    assert policy() == qmail_filter.Policy(
        queue_program="/var/qmail/bin/qmail-queue", spamd_enabled=True, spamd_address=("tcp", "127.0.0.1", 783),
        spamd_user="", spamd_timeout=60.0, spamd_max_bytes=512000, spam_action="tag", tag_score=5.0,
        reject_score=10.0, clamd_enabled=False, clamd_address=("unix", "/var/run/clamav/clamd.ctl"),
        clamd_timeout=60.0, clamd_max_bytes=26214400, virus_action="reject", fail_open=False)


def test_load_config_reads_the_json_the_role_writes():
    text = json.dumps({"spam_action": "reject", "tag_score": "4.5", "reject_score": 8, "clamd_enabled": True,
                       "clamd_address": "[::1]:3310", "spamd_address": "/run/spamd.sock", "fail_open": True,
                       "spamd_user": "spamd", "spamd_max_bytes": "1000"})
    loaded = qmail_filter.load_config(text)
    assert (loaded.tag_score, loaded.reject_score, loaded.spamd_max_bytes) == (4.5, 8.0, 1000)
    assert loaded.clamd_address == ("tcp", "::1", 3310)
    assert loaded.spamd_address == ("unix", "/run/spamd.sock")
    assert (loaded.spam_action, loaded.fail_open, loaded.spamd_user) == ("reject", True, "spamd")


@pytest.mark.parametrize("settings_, setting, hint", [
    ({"tag_score": "5,0"}, "tag_score", "not a comma"),
    ({"tag_score": "inf"}, "tag_score", "not a number"),
    ({"tag_score": "nan"}, "tag_score", "not a number"),
    ({"tag_score": float("nan")}, "tag_score", "not a finite number"),
    ({"reject_score": float("-inf")}, "reject_score", "not a finite number"),
    ({"tag_score": True}, "tag_score", "not a number"),
    ({"tag_score": "1e3"}, "tag_score", "no exponent"),
    ({"tag_score": " 5"}, "tag_score", "not a number"),
    ({"reject_score": None}, "reject_score", "not a number"),
    ({"spamd_timeout": 0}, "spamd_timeout", "out of range"),
    ({"clamd_timeout": 3601}, "clamd_timeout", "out of range"),
    ({"spamd_max_bytes": "0"}, "spamd_max_bytes", "whole number"),
    ({"spamd_max_bytes": 1.5}, "spamd_max_bytes", "whole number"),
    ({"clamd_max_bytes": False}, "clamd_max_bytes", "whole number"),
    ({"clamd_max_bytes": 2 ** 31}, "clamd_max_bytes", "out of range"),
    ({"spamd_address": "127.0.0.1:0"}, "spamd_address", "port"),
    ({"spamd_address": "127.0.0.1:65536"}, "spamd_address", "port from 1 to 65535"),
    ({"spamd_address": "127.0.0.1:0783"}, "spamd_address", "port"),
    ({"spamd_address": "localhost"}, "spamd_address", "HOST:PORT"),
    ({"clamd_address": "run/clamd.ctl"}, "clamd_address", "absolute socket path"),
    ({"clamd_address": "/" + "x" * 107}, "clamd_address", "UNIX socket path"),
    ({"clamd_address": 3310}, "clamd_address", "not a string"),
    ({"spam_action": "drop"}, "spam_action", "tag, reject"),
    ({"virus_action": "quarantine"}, "virus_action", "reject, tag"),
    ({"fail_open": "yes"}, "fail_open", "true or false"),
    ({"clamd_enabled": 1}, "clamd_enabled", "true or false"),
    ({"queue_program": "bin/qmail-queue"}, "queue_program", "absolute path"),
    ({"spamd_user": "root\r\nUser: x"}, "spamd_user", "user name"),
    ({"spam_action": "reject", "tag_score": 6, "reject_score": 5}, "reject_score", "at or above tag_score"),
    ({"tag_scor": 5}, "'tag_scor'", "known: queue_program"),
])
def test_config_refusals_name_the_setting_and_the_value(settings_, setting, hint):
    with pytest.raises(ValidationError) as caught:
        qmail_filter.parse_config(settings_)
    message = str(caught.value)
    assert message.startswith(setting) or setting in message
    assert hint in message
    if not setting.startswith("'"):
        assert repr(settings_[setting]) in message


def test_reject_score_below_tag_score_is_fine_when_spam_is_only_tagged():
    assert policy(spam_action="tag", tag_score=6, reject_score=5).reject_score == 5.0


@pytest.mark.parametrize("text, hint", [
    ('{"tag_score": NaN}', "NaN is not a number"),
    ('{"tag_score": Infinity}', "Infinity is not a number"),
    ('{"tag_score": 5, "tag_score": 6}', "'tag_score' given more than once"),
    ('["tag_score"]', "not a mapping"),
    ('{"tag_score": 5', "not valid JSON"),
])
def test_load_config_refuses_what_json_alone_would_let_through(text, hint):
    with pytest.raises(ValidationError, match=re.escape(hint)):
        qmail_filter.load_config(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=12), st.floats(), st.integers(), st.booleans(), st.none()))
def test_a_score_is_accepted_only_as_a_finite_decimal(value):
    try:
        accepted = qmail_filter.parse_config({"tag_score": value}).tag_score
    except ValidationError as exc:
        assert str(exc).startswith("tag_score: %r " % (value,))
        assert isinstance(value, (str, type(None), bool)) or (isinstance(value, float) and not math.isfinite(value))
        return
    assert not isinstance(value, bool) and accepted == float(value)
    if isinstance(value, str):
        assert set(value) <= set("-.0123456789") and value[-1].isdigit()


# ---------------------------------------------------------------------------------------------
# Envelope


def qmail_queue_reads(data):
    """qmail-queue.c's envelope loop, byte by byte: (exit status, bytes it consumed); 0 = accepted."""
    position = [0]

    def get():
        if position[0] >= len(data):
            raise EOFError
        position[0] += 1
        return data[position[0] - 1:position[0]]

    try:
        if get() != b"F":
            return 91, position[0]
        while get() != b"\0":
            pass
        while True:
            kind = get()
            if kind == b"\0":
                return 0, position[0]
            if kind != b"T":
                return 91, position[0]
            while get() != b"\0":
                pass
    except EOFError:
        return 54, position[0]


def test_parse_envelope_gives_sender_and_recipients():
    envelope = qmail_filter.parse_envelope(ENVELOPE)
    assert envelope.sender == b"alice@example.com"
    assert envelope.recipients == [b"bob@example.org", b"carol@example.org"]


def test_bounce_sender_and_no_recipient_are_what_qmail_queue_accepts():
    assert qmail_filter.parse_envelope(b"F\0\0") == qmail_filter.Envelope(b"", [])


@pytest.mark.parametrize("data, exit_code", [
    (b"", 54),
    (b"Xalice@example.com\0\0", 91),
    (b"Falice@example.com", 54),
    (b"Falice@example.com\0", 54),
    (b"Falice@example.com\0Tbob@example.org", 54),
    (b"Falice@example.com\0Tbob@example.org\0", 54),
    (b"Falice@example.com\0Rbob@example.org\0\0", 91),
    (b"Falice@example.com\0Tbob@example.org\0\0junk", 91),
    (b"Falice@example.com\0\0\0", 91),
])
def test_malformed_envelopes_get_qmail_queues_own_exit_status(data, exit_code):
    with pytest.raises(qmail_filter.EnvelopeError) as caught:
        qmail_filter.parse_envelope(data)
    assert caught.value.exit_code == exit_code
    assert str(caught.value).startswith("envelope: ")


ADDRESS = st.binary(max_size=40).filter(lambda value: b"\0" not in value)


@settings(max_examples=300, deadline=None)
@given(ADDRESS, st.lists(ADDRESS, max_size=5))
def test_envelope_round_trip(sender, recipients):
    assert qmail_filter.parse_envelope(envelope_of(sender, recipients)) == (sender, recipients)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=30),
                 st.builds(lambda good, tail: good + tail,
                           st.builds(envelope_of, ADDRESS, st.lists(ADDRESS, max_size=3)),
                           st.binary(max_size=3)),
                 st.builds(lambda good, cut: good[:cut],
                           st.builds(envelope_of, ADDRESS, st.lists(ADDRESS, max_size=3)),
                           st.integers(0, 40))))
def test_parse_envelope_agrees_with_qmail_queue_and_refuses_trailing_bytes(data):
    status, consumed = qmail_queue_reads(data)
    try:
        envelope = qmail_filter.parse_envelope(data)
    except qmail_filter.EnvelopeError as exc:
        assert exc.exit_code == (status or qmail_filter.EXIT_ENVELOPE)
        assert status != 0 or consumed < len(data)
        return
    assert status == 0 and consumed == len(data)
    assert envelope_of(*envelope) == data


# ---------------------------------------------------------------------------------------------
# Headers


def test_headers_go_in_front_with_the_messages_line_ending():
    assert qmail_filter.add_headers(b"Subject: x\n\nbody\n", [("X-A", "1")]) == b"X-A: 1\nSubject: x\n\nbody\n"
    assert (qmail_filter.add_headers(b"Subject: x\r\n\r\nbody\r\n", [("X-A", "1"), ("X-B", "2")])
            == b"X-A: 1\r\nX-B: 2\r\nSubject: x\r\n\r\nbody\r\n")
    assert qmail_filter.add_headers(b"", [("X-A", "1")]) == b"X-A: 1\n"
    assert qmail_filter.add_headers(b"Subject: x\n", []) == b"Subject: x\n"


def test_scanner_text_cannot_start_a_header_field_of_its_own():
    added = qmail_filter.add_headers(b"\n", [("X-Virus-Status", "Infected, Evil\r\nX-Spam-Flag: NO")])
    assert added == b"X-Virus-Status: Infected, Evil??X-Spam-Flag: NO\n\n"


def test_a_long_rule_list_is_folded_after_commas():
    symbols = ",".join("RULE_NUMBER_%02d" % number for number in range(20))
    added = qmail_filter.add_headers(b"\n", [("X-Spam-Status", "Yes, score=9.0 required=5.0 tests=" + symbols)])
    lines = added.split(b"\n")[:-2]
    assert len(lines) > 3 and all(len(line) <= 78 for line in lines)
    assert all(line.startswith(b"\t") for line in lines[1:])
    assert b"".join(lines).replace(b"\t", b"") == b"X-Spam-Status: Yes, score=9.0 required=5.0 tests=" + symbols.encode()


HEADER = st.tuples(st.from_regex(r"\AX-[A-Za-z-]{1,20}\Z"), st.text(max_size=300))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(HEADER, max_size=4))
def test_header_insertion_never_changes_the_message_bytes(message, headers):
    added = qmail_filter.add_headers(message, headers)
    assert added.endswith(message)
    prefix = added[:len(added) - len(message)]
    newline = b"\r\n" if re.match(rb"\A[^\n]*\r\n", message) else b"\n"
    if not headers:
        assert prefix == b""
        return
    assert prefix.endswith(newline)
    lines = prefix[:-len(newline)].split(newline)
    assert all(b"\r" not in line and b"\n" not in line and len(line) <= 998 for line in lines)
    fields = [line for line in lines if not line.startswith(b"\t")]
    assert [field.split(b":")[0].decode() for field in fields] == [name for name, dummy in headers]
    assert all(0x20 <= byte < 0x7f or byte == 0x09 for line in lines for byte in line)


# ---------------------------------------------------------------------------------------------
# spamd and clamd codecs


def test_spamd_request_is_symbols_with_content_length():
    assert (qmail_filter.spamd_request(b"Subject: x\n\nhi\n")
            == b"SYMBOLS SPAMC/1.5\r\nContent-length: 15\r\n\r\nSubject: x\n\nhi\n")
    assert (qmail_filter.spamd_request(b"x", "spamd")
            == b"SYMBOLS SPAMC/1.5\r\nContent-length: 1\r\nUser: spamd\r\n\r\nx")


def spamd_reply(spam, symbols=b"", status=b"SPAMD/1.1 0 EX_OK", length=None):
    length = len(symbols) if length is None else length
    return b"%s\r\nContent-length: %d\r\nSpam: %s\r\n\r\n%s" % (status, length, spam, symbols)


def test_spamd_reply_gives_score_and_rules():
    verdict = qmail_filter.parse_spamd_response(spamd_reply(b"True ; 1000.0 / 5.0", b"GTUBE,NO_RECEIVED\r\n"))
    assert verdict == SpamVerdict(1000.0, ["GTUBE", "NO_RECEIVED"])
    assert qmail_filter.parse_spamd_response(spamd_reply(b"False ; -0.5 / 5.0")) == SpamVerdict(-0.5, [])


def test_spamd_rule_names_that_are_not_rule_names_are_dropped():
    verdict = qmail_filter.parse_spamd_response(spamd_reply(b"True ; 7.0 / 5.0", b"GOOD,bad rule,\x01X"))
    assert verdict.symbols == ["GOOD"]


@pytest.mark.parametrize("reply, hint", [
    (b"SPAMD/1.0 76 Bad header line: Content-length: x\r\n", "spamd refused the message: 76 Bad header line"),
    (b"HTTP/1.0 400 Bad Request\r\n\r\n", "not a SPAMD status line"),
    (b"", "not a SPAMD status line"),
    (b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 5.0 / 5.0\r\n", "ended before its headers"),
    (spamd_reply(b"Maybe ; 5 / 5"), "no 'Spam: True|False"),
    (spamd_reply(b"True ; 5,0 / 5.0"), "no 'Spam: True|False"),
    (spamd_reply(b"True ; 9.0 / 5.0", b"GTUBE", length=50), "cut short"),
    (b"SPAMD/1.1 0 EX_OK\r\nbroken\r\n\r\n", "without ':'"),
])
def test_spamd_replies_without_a_verdict_are_scanner_errors(reply, hint):
    with pytest.raises(qmail_filter.ScannerError, match=re.escape(hint)):
        qmail_filter.parse_spamd_response(reply)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 700))
def test_clamd_instream_chunks_carry_the_message_exactly(message, chunk_size):
    pieces = list(qmail_filter.clamd_instream(message, chunk_size))
    assert pieces[0] == b"zINSTREAM\0" and pieces[-1] == b"\0\0\0\0"
    data = b""
    for piece in pieces[1:-1]:
        (length,) = struct.unpack(">I", piece[:4])
        assert 0 < length <= chunk_size and len(piece) == 4 + length
        data += piece[4:]
    assert data == message


@pytest.mark.parametrize("reply, verdict", [
    (b"stream: OK\0", VirusVerdict(None)),
    (b"stream: Eicar-Test-Signature FOUND\0", VirusVerdict("Eicar-Test-Signature")),
    (b"stream: Eicar-Signature.UNOFFICIAL FOUND\0", VirusVerdict("Eicar-Signature.UNOFFICIAL")),
])
def test_clamd_verdicts(reply, verdict):
    assert qmail_filter.parse_clamd_response(reply) == verdict


@pytest.mark.parametrize("reply, hint", [
    (b"INSTREAM size limit exceeded. ERROR\0", "clamd_max_bytes must not exceed clamd's StreamMaxLength"),
    (b"stream: Can't allocate memory ERROR\0", "clamd could not scan"),
    (b"stream: OK", "without its NUL"),
    (b"", "without its NUL"),
    (b"stream: OK\0stream: OK\0", "more than one reply"),
    (b"stream:  FOUND\0", "clamd answered"),
    (b"UNKNOWN COMMAND\0", "clamd answered"),
])
def test_clamd_replies_without_a_verdict_are_scanner_errors(reply, hint):
    with pytest.raises(qmail_filter.ScannerError, match=re.escape(hint)):
        qmail_filter.parse_clamd_response(reply)


# ---------------------------------------------------------------------------------------------
# Decision

HAM = SpamVerdict(1.2, ["NO_RELAYS"])
SPAM = SpamVerdict(1000.0, ["GTUBE"])
MIDDLING = SpamVerdict(7.0, ["BAYES_99"])
CLEAN_VERDICT = VirusVerdict(None)
INFECTED = VirusVerdict("Eicar-Test-Signature")
DOWN = NotScanned("spamd at 127.0.0.1:783: Connection refused", True)
TOO_BIG = NotScanned("message of 600000 bytes is over spamd_max_bytes 512000", False)


@pytest.mark.parametrize("settings_, spam, virus, action, exit_code, headers", [
    ({}, HAM, None, DELIVER, None,
     [("X-Spam-Score", "1.2"), ("X-Spam-Status", "No, score=1.2 required=5.0 tests=NO_RELAYS")]),
    ({}, SPAM, CLEAN_VERDICT, DELIVER, None,
     [("X-Virus-Status", "Clean"), ("X-Spam-Flag", "YES"), ("X-Spam-Score", "1000.0"),
      ("X-Spam-Status", "Yes, score=1000.0 required=5.0 tests=GTUBE")]),
    ({"spam_action": "reject"}, SPAM, None, REJECT, 31, []),
    ({"spam_action": "reject"}, MIDDLING, None, DELIVER, None,
     [("X-Spam-Flag", "YES"), ("X-Spam-Score", "7.0"), ("X-Spam-Status", "Yes, score=7.0 required=5.0 tests=BAYES_99")]),
    ({"spam_action": "reject", "reject_score": 7}, MIDDLING, None, REJECT, 31, []),
    ({}, SpamVerdict(0.0, []), None, DELIVER, None,
     [("X-Spam-Score", "0.0"), ("X-Spam-Status", "No, score=0.0 required=5.0 tests=none")]),
    ({}, HAM, INFECTED, REJECT, 31, []),
    ({"virus_action": "tag"}, HAM, INFECTED, DELIVER, None,
     [("X-Virus-Status", "Infected, Eicar-Test-Signature"), ("X-Spam-Score", "1.2"),
      ("X-Spam-Status", "No, score=1.2 required=5.0 tests=NO_RELAYS")]),
    ({}, DOWN, None, DEFER, 71, []),
    ({}, HAM, NotScanned("clamd at /x: No such file or directory", True), DEFER, 71, []),
    ({"fail_open": True}, DOWN, None, DELIVER, None,
     [("X-Content-Filter", "not scanned by spamd: spamd at 127.0.0.1:783: Connection refused (fail_open)")]),
    ({"spam_action": "reject"}, SPAM, NotScanned("clamd at /x: timed out", True), REJECT, 31, []),
    ({}, DOWN, INFECTED, REJECT, 31, []),
    ({}, TOO_BIG, CLEAN_VERDICT, DELIVER, None,
     [("X-Virus-Status", "Clean"),
      ("X-Content-Filter", "not scanned by spamd: message of 600000 bytes is over spamd_max_bytes 512000")]),
    ({}, None, None, DELIVER, None, []),
])
def test_decide(settings_, spam, virus, action, exit_code, headers):
    decision = qmail_filter.decide(policy(**settings_), spam, virus)
    assert (decision.action, decision.exit_code, decision.headers) == (action, exit_code, headers)
    assert decision.reason


OUTCOMES = st.one_of(st.none(), st.builds(NotScanned, st.text(max_size=10), st.booleans()))
SPAM_OUTCOMES = st.one_of(OUTCOMES, st.builds(SpamVerdict, st.floats(-50, 1000), st.just(["R"])))
VIRUS_OUTCOMES = st.one_of(OUTCOMES, st.builds(VirusVerdict, st.one_of(st.none(), st.just("Virus"))))
POLICIES = st.builds(lambda action, virus_action, tag, extra, fail_open: policy(
    spam_action=action, virus_action=virus_action, tag_score=tag, reject_score=tag + extra, fail_open=fail_open),
    st.sampled_from(qmail_filter.SPAM_ACTIONS), st.sampled_from(qmail_filter.VIRUS_ACTIONS),
    st.floats(-10, 20), st.floats(0, 20), st.booleans())


@settings(max_examples=500, deadline=None)
@given(POLICIES, SPAM_OUTCOMES, VIRUS_OUTCOMES)
def test_decide_never_delivers_unscanned_mail_unless_fail_open_and_rejects_only_for_a_reason(rules, spam, virus):
    decision = qmail_filter.decide(rules, spam, virus)
    failed = any(isinstance(outcome, NotScanned) and outcome.failed for outcome in (spam, virus))
    virus_reject = isinstance(virus, VirusVerdict) and virus.name and rules.virus_action == "reject"
    spam_reject = (isinstance(spam, SpamVerdict) and rules.spam_action == "reject"
                   and spam.score >= rules.reject_score)
    if decision.action == REJECT:
        assert decision.exit_code == 31 and (virus_reject or spam_reject)
    elif decision.action == DEFER:
        assert decision.exit_code == 71 and failed and not rules.fail_open
    else:
        assert not (virus_reject or spam_reject) and (rules.fail_open or not failed)
        names = [name for name, dummy in decision.headers]
        assert names.count("X-Content-Filter") == sum(isinstance(o, NotScanned) for o in (spam, virus))
        assert ("X-Spam-Flag" in names) == (isinstance(spam, SpamVerdict) and spam.score >= rules.tag_score)


# ---------------------------------------------------------------------------------------------
# The program, end to end, with scanner doubles and a queue recorder


class SpamdDouble(socketserver.ThreadingTCPServer):
    """Answers SYMBOLS like spamd: GTUBE in the body scores 1000, anything else 1.2; `mode` breaks it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.requests = []
        self.mode = "normal"
        socketserver.ThreadingTCPServer.__init__(self, ("127.0.0.1", 0), SpamdHandler)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server_address[1]


class SpamdHandler(socketserver.StreamRequestHandler):
    def handle(self):
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline()
            if not line:
                return
            head += line
        length = int(re.search(rb"Content-length: (\d+)", head).group(1))
        body = self.rfile.read(length)
        self.server.requests.append((head, body))
        if self.server.mode == "hang":
            time.sleep(5)
            return
        if self.server.mode == "refuse":
            self.wfile.write(b"SPAMD/1.0 76 Bad header line: (EOF)\r\n")
            return
        verdict, symbols = (b"True ; 1000.0 / 5.0", b"GTUBE,NO_RECEIVED") if GTUBE in body else \
            (b"False ; 1.2 / 5.0", b"NO_RELAYS")
        self.wfile.write(spamd_reply(verdict, symbols))


class ClamdDouble(socketserver.ThreadingUnixStreamServer):
    """Answers zINSTREAM like clamd: the EICAR string is Eicar-Test-Signature, anything else OK."""

    daemon_threads = True

    def __init__(self, path):
        self.streams = []
        self.path = path
        socketserver.ThreadingUnixStreamServer.__init__(self, path, ClamdHandler)


class ClamdHandler(socketserver.StreamRequestHandler):
    def handle(self):
        if self.rfile.read(len(b"zINSTREAM\0")) != b"zINSTREAM\0":
            self.wfile.write(b"UNKNOWN COMMAND\0")
            return
        data = b""
        while True:
            (length,) = struct.unpack(">I", self.rfile.read(4))
            if not length:
                break
            data += self.rfile.read(length)
        self.server.streams.append(data)
        self.wfile.write(b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0")


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    return server


@pytest.fixture
def spamd():
    server = serve(SpamdDouble())
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def clamd(tmp_path):
    server = serve(ClamdDouble(str(tmp_path / "clamd.ctl")))
    yield server
    server.shutdown()
    server.server_close()


RECORDER = """#!%s
# Queue recorder for the tests: keeps what it is given, as qmail-queue would read it.
import os, sys
def read_all(fd):
    parts = []
    while True:
        part = os.read(fd, 65536)
        if not part:
            return b"".join(parts)
        parts.append(part)
message = read_all(0)
envelope = read_all(1)
base = sys.argv[0]
with open(base + ".message", "wb") as handle:
    handle.write(message)
with open(base + ".envelope", "wb") as handle:
    handle.write(envelope)
open_fds = []
for fd in range(2, 10):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
with open(base + ".fds", "w") as handle:
    handle.write(" ".join(map(str, open_fds)))
with open(base + ".exit") as handle:
    status = handle.read()
if status == "kill":
    os.kill(os.getpid(), 9)
sys.exit(int(status))
"""


class Installed:
    """qmail-filter and its module in one directory, as the role installs them, with a queue recorder."""

    def __init__(self, root, spamd_address, clamd_address):
        self.root = root
        lib = root / "lib"
        lib.mkdir()
        shutil.copy(PROGRAM, str(lib / "qmail-filter"))
        shutil.copy(MODULE, str(lib / "qmail_filter.py"))
        self.program = str(lib / "qmail-filter")
        self.recorder = str(root / "queue-recorder")
        with open(self.recorder, "w") as handle:
            handle.write(RECORDER % sys.executable)
        os.chmod(self.recorder, 0o755)
        self.recorder_exits("0")
        self.config = str(root / "qmail-filter.json")
        self.configure(spamd_address=spamd_address, clamd_address=clamd_address, clamd_enabled=True)

    def configure(self, **settings_):
        base = {"queue_program": self.recorder, "spamd_timeout": 5, "clamd_timeout": 5}
        self.settings = dict(getattr(self, "settings", base), **settings_)
        with open(self.config, "w") as handle:
            json.dump(self.settings, handle)

    def recorder_exits(self, status):
        with open(self.recorder + ".exit", "w") as handle:
            handle.write(status)

    def recorded(self, what):
        path = "%s.%s" % (self.recorder, what)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as handle:
            return handle.read()

    def run(self, message, envelope=ENVELOPE, extra_fd=False):
        """Exit status and stderr of qmail-filter with the message on fd 0 and the envelope on fd 1."""
        (self.root / "in.message").write_bytes(message)
        (self.root / "in.envelope").write_bytes(envelope)
        command = [sys.executable, "-I", self.program, self.config]
        if extra_fd:
            # sagredo's qmail.c opens fd 4 for custom error texts; the shell stands in for it.
            command = ["/bin/sh", "-c", 'exec 4</dev/null; exec "$0" "$@"'] + command
        with open(str(self.root / "in.message"), "rb") as stdin, open(str(self.root / "in.envelope"), "rb") as fd1:
            done = subprocess.run(command, stdin=stdin, stdout=fd1, stderr=subprocess.PIPE, timeout=60, check=False)
        stderr = done.stderr.decode()
        assert "Traceback" not in stderr and stderr.count("\n") <= 2
        return done.returncode, stderr


@pytest.fixture
def installed(tmp_path, spamd, clamd):
    return Installed(tmp_path, spamd.address, clamd.path)


def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_clean_message_is_queued_with_headers_and_unchanged_body_and_envelope(installed, spamd, clamd):
    status, stderr = installed.run(CLEAN)
    assert status == 0
    queued = installed.recorded("message")
    assert queued.endswith(CLEAN)
    assert queued[:-len(CLEAN)] == (b"X-Virus-Status: Clean\nX-Spam-Score: 1.2\n"
                                    b"X-Spam-Status: No, score=1.2 required=5.0 tests=NO_RELAYS\n")
    assert installed.recorded("envelope") == ENVELOPE
    assert spamd.requests == [(b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(CLEAN), CLEAN)]
    assert clamd.streams == [CLEAN]
    assert stderr.startswith("qmail-filter: deliver: virus clean, spam score 1.2; from <alice@example.com> "
                             "to 2 recipient(s)")


def test_gtube_is_tagged_by_default(installed):
    message = CLEAN.replace(b"See you at noon.", GTUBE)
    assert installed.run(message)[0] == 0
    queued = installed.recorded("message")
    assert queued.startswith(b"X-Virus-Status: Clean\nX-Spam-Flag: YES\nX-Spam-Score: 1000.0\n")
    assert queued.endswith(message)


def test_gtube_is_rejected_when_spam_action_is_reject(installed):
    installed.configure(spam_action="reject", reject_score=15)
    status, stderr = installed.run(CLEAN.replace(b"See you at noon.", GTUBE))
    assert status == 31
    assert installed.recorded("message") is None
    assert "reject: spam score 1000.0 >= reject_score 15.0" in stderr


def test_virus_is_rejected_without_asking_spamd(installed, spamd):
    status, stderr = installed.run(CLEAN.replace(b"See you at noon.", EICAR))
    assert status == 31
    assert installed.recorded("message") is None and spamd.requests == []
    assert "reject: virus Eicar-Test-Signature" in stderr


def test_spamd_down_defers(installed):
    installed.configure(spamd_address="127.0.0.1:%d" % closed_port())
    status, stderr = installed.run(CLEAN)
    assert status == 71
    assert installed.recorded("message") is None
    assert re.search(r"defer: spamd: spamd at 127\.0\.0\.1:\d+: Connection refused", stderr)


def test_spamd_down_with_fail_open_delivers_with_a_not_scanned_header(installed):
    installed.configure(spamd_address="127.0.0.1:%d" % closed_port(), fail_open=True)
    assert installed.run(CLEAN)[0] == 0
    queued = installed.recorded("message")
    unfolded = queued[:-len(CLEAN)].replace(b"\n\t", b" ")
    assert re.match(rb"X-Virus-Status: Clean\nX-Content-Filter: not scanned by spamd: spamd at 127\.0\.0\.1:\d+: "
                    rb"Connection refused \(fail_open\)\n\Z", unfolded)
    assert queued.endswith(CLEAN)


def test_clamd_socket_missing_defers(installed, tmp_path):
    installed.configure(clamd_address=str(tmp_path / "no-clamd.ctl"))
    status, stderr = installed.run(CLEAN)
    assert status == 71
    assert "clamd: clamd at %s: No such file or directory" % (tmp_path / "no-clamd.ctl") in stderr


def test_spamd_error_reply_defers(installed, spamd):
    spamd.mode = "refuse"
    status, stderr = installed.run(CLEAN)
    assert status == 71 and "spamd refused the message: 76" in stderr


def test_spamd_that_never_answers_defers_after_spamd_timeout(installed, spamd):
    spamd.mode = "hang"
    installed.configure(spamd_timeout=1)
    started = time.monotonic()
    status, stderr = installed.run(CLEAN)
    assert status == 71 and "timed out" in stderr
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("recorder_status, expected", [("71", 71), ("11", 11), ("53", 53), ("kill", 81)])
def test_the_queue_programs_failure_is_passed_on(installed, recorder_status, expected):
    installed.recorder_exits(recorder_status)
    status, stderr = installed.run(CLEAN)
    assert status == expected
    assert installed.recorded("message").endswith(CLEAN)
    assert "queue-recorder" in stderr


def test_a_queue_program_that_cannot_run_is_qmails_unable_to_exec(installed, tmp_path):
    installed.configure(queue_program=str(tmp_path / "missing-queue"))
    status, stderr = installed.run(CLEAN)
    assert status == 120 and "cannot run" in stderr


@pytest.mark.parametrize("envelope, expected", [
    (b"Talice@example.com\0\0", 91),
    (b"Falice@example.com\0Tbob@example.org\0", 54),
    (b"", 54),
])
def test_malformed_envelope_is_refused_before_any_scan(installed, spamd, clamd, envelope, expected):
    status, stderr = installed.run(CLEAN, envelope)
    assert status == expected
    assert spamd.requests == [] and clamd.streams == [] and installed.recorded("message") is None
    assert "envelope: " in stderr


def test_message_over_spamd_max_bytes_passes_unscanned_by_spamd_with_a_header(installed, spamd, clamd):
    installed.configure(spamd_max_bytes=1000)
    message = CLEAN + b"x" * 2000 + b"\n"
    assert installed.run(message)[0] == 0
    assert spamd.requests == [] and clamd.streams == [message]
    queued = installed.recorded("message")
    assert queued.endswith(message)
    assert queued[:-len(message)].replace(b"\n\t", b" ") == (
        b"X-Virus-Status: Clean\nX-Content-Filter: not scanned by spamd: message of %d bytes is over "
        b"spamd_max_bytes 1000\n" % len(message))


def test_bad_configuration_is_qmails_unable_to_read_configuration(installed):
    installed.configure(tag_score="5,0")
    status, stderr = installed.run(CLEAN)
    assert status == 55
    assert "tag_score: '5,0' is not a number" in stderr
    assert installed.recorded("message") is None


def test_inherited_descriptors_reach_the_queue_program(installed):
    assert installed.run(CLEAN, extra_fd=True)[0] == 0
    assert installed.recorded("fds") == b"2 4"


def test_large_message_written_as_qmail_c_does_message_first_then_envelope(installed, spamd, clamd):
    """qmail.c writes the whole message, closes fd 0's pipe, then writes the envelope: no deadlock."""
    installed.configure(spamd_max_bytes=2000000)
    message = CLEAN + (b"line of text for a big message\n" * 40000)
    envelope_read, envelope_write = os.pipe()
    child = subprocess.Popen([sys.executable, "-I", installed.program, installed.config], stdin=subprocess.PIPE,
                             stdout=envelope_read, stderr=subprocess.PIPE)
    os.close(envelope_read)
    child.stdin.write(message)
    child.stdin.close()
    os.write(envelope_write, ENVELOPE)
    os.close(envelope_write)
    assert child.wait(timeout=60) == 0
    child.stderr.close()
    assert installed.recorded("message").endswith(message)
    assert spamd.requests[0][1] == message and clamd.streams == [message]
    assert installed.recorded("envelope") == ENVELOPE
