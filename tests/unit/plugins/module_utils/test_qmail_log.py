# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The log report reads what qmail-send, tcpserver, rblsmtpd and qmail-smtpd write through multilog."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import shutil
import subprocess

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import qmail_log
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
from ansible_collections.mailops.qmail.plugins.modules import log_report as log_report_module
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module

T0 = 1796193000  # 2026-12-02T06:30:00Z


def label(stamp):
    """The tai64n label multilog's `t` writes for a Unix time."""
    seconds = int(stamp)
    return "@%016x%08x" % (2 ** 62 + 10 + seconds, int(round((stamp - seconds) * 1e9)))


def write_log(directory, name, entries):
    """entries: (time, text) pairs, or bare text for a line multilog wrote without `t`."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(str(directory / name), "w") as handle:
        for entry in entries:
            handle.write("%s %s\n" % (label(entry[0]), entry[1]) if isinstance(entry, tuple) else entry + "\n")
    return directory


def timed(lines, start=T0, step=1.0):
    return [(start + i * step, text) for i, text in enumerate(lines)]


def report_of(*dirs, **kwargs):
    return qmail_log.collect([str(d) for d in dirs], **kwargs)


# One message from a local user to a local and a remote recipient: the local delivery succeeds,
# the remote one is deferred once and then fails, qmail-send bounces it to the sender.
SEND_LOG = [
    "status: local 0/10 remote 0/20",
    "new msg 4242",
    "info msg 4242: bytes 2345 from <alice@example.com> qp 1201 uid 1000",
    "starting delivery 1: msg 4242 to local bob@example.com",
    "status: local 1/10 remote 0/20",
    "starting delivery 2: msg 4242 to remote carol@example.net",
    "status: local 1/10 remote 1/20",
    "delivery 1: success: did_0+0+1/",
    "status: local 0/10 remote 1/20",
    "delivery 2: deferral: Connected_to_192.0.2.5_but_connection_died._(#4.4.2)/",
    "status: local 0/10 remote 0/20",
    "starting delivery 3: msg 4242 to remote carol@example.net",
    "status: local 0/10 remote 1/20",
    "delivery 3: failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/",
    "status: local 0/10 remote 0/20",
    "bounce msg 4242 qp 1202",
    "end msg 4242",
    "new msg 4243",
    "info msg 4243: bytes 812 from <> qp 1202 uid 1001",
    "starting delivery 4: msg 4243 to local alice@example.com",
    "status: local 1/10 remote 0/20",
]

# What tcpserver -v and rblsmtpd wrote through multilog on this machine (ucspi-tcp 0.88), with
# tcprules denying 127.0.0.2 and giving 127.0.0.3 and .4 an RBLSMTPD text.
TCPSERVER_LOG = """\
@400000006b0fbd12285d2334 tcpserver: status: 0/3
@400000006b0fbd1330a0825c tcpserver: status: 1/3
@400000006b0fbd1330a08644 tcpserver: pid 31917 from 127.0.0.2
@400000006b0fbd1330a77b84 tcpserver: deny 31917 :127.0.0.1:23457 :127.0.0.2::57381
@400000006b0fbd1330a96f84 tcpserver: end 31917 status 25600
@400000006b0fbd1330a99a7c tcpserver: status: 0/3
@400000006b0fbd133832cd7c tcpserver: status: 1/3
@400000006b0fbd1338362cc4 tcpserver: pid 31964 from 127.0.0.3
@400000006b0fbd13383d7fc4 tcpserver: ok 31964 :127.0.0.1:23457 :127.0.0.3::56255
@400000006b0fbd13384f080c rblsmtpd: 127.0.0.3 pid 31964: 553 listed as spam source
@400000006b0fbd1338570ad4 tcpserver: end 31964 status 0
@400000006b0fbd1338570ebc tcpserver: status: 0/3
@400000006b0fbd140517c3ac tcpserver: status: 1/3
@400000006b0fbd14051ba7c4 tcpserver: pid 32041 from 127.0.0.4
@400000006b0fbd140523e90c tcpserver: ok 32041 :127.0.0.1:23457 :127.0.0.4::36807
@400000006b0fbd14052e35c4 rblsmtpd: 127.0.0.4 pid 32041: 451 temporarily blocked
@400000006b0fbd1405327f6c tcpserver: end 32041 status 0
@400000006b0fbd140532b61c tcpserver: status: 0/3
"""


# -- tai64n ----------------------------------------------------------------------------------------

def test_label_decodes_to_what_tai64nlocal_prints():
    # `echo x | tai64n | TZ=UTC tai64nlocal` printed 2026-12-02 06:38:53.118952500 for this label.
    stamp = qmail_log.decode_label("@400000006b0fbd0707171234")
    printed = datetime.datetime(2026, 12, 2, 6, 38, 53, tzinfo=datetime.timezone.utc).timestamp() + 0.1189525
    assert stamp == pytest.approx(printed, abs=1e-6)


@pytest.mark.skipif(not (shutil.which("tai64n") and shutil.which("tai64nlocal")), reason="daemontools not installed")
def test_label_decodes_like_the_installed_tai64nlocal():
    labelled = subprocess.run(["tai64n"], input=b"x\n", stdout=subprocess.PIPE, check=True).stdout.decode()
    local = subprocess.run(["tai64nlocal"], input=labelled.encode(), stdout=subprocess.PIPE, check=True,
                           env=dict(os.environ, TZ="UTC")).stdout.decode()
    printed = datetime.datetime.strptime(local[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    assert qmail_log.decode_label(labelled.split()[0]) == pytest.approx(printed.timestamp(), abs=1e-6)


@pytest.mark.parametrize("line, stamp, text", [
    ("@400000006b0fbd0707171234 new msg 12\n", 1796193533.1189525, "new msg 12"),
    ("new msg 12\n", None, "new msg 12"),
    ("@40000000 new msg 12", None, "@40000000 new msg 12"),
    ("@400000006b0fbd07071712zz new msg 12", None, "@400000006b0fbd07071712zz new msg 12"),
    ("@400000006b0fbd0707171234new msg", None, "@400000006b0fbd0707171234new msg"),
    ("", None, ""),
])
def test_split_line(line, stamp, text):
    got_stamp, got_text = qmail_log.split_line(line)
    assert got_text == text
    assert got_stamp == (pytest.approx(stamp, abs=1e-6) if stamp is not None else None)


def test_what_is_not_a_label_decodes_to_none():
    assert qmail_log.decode_label("@4000000063a1b2c3") is None
    assert qmail_log.decode_label("4000000063a1b2c30a0b0c0d") is None


def test_a_label_no_calendar_can_show_is_read_and_shown_as_a_number(tmp_path):
    directory = write_log(tmp_path / "qmail-send", "current", ["@ffffffffffffffff00000000 new msg 1"])
    report = report_of(directory)
    assert report["messages"]["received"] == 1
    assert report["range"]["first"] > 1e18 and report["range"]["first_utc"] is None
    assert "qmail logs from %s to " % report["range"]["first"] in qmail_log.render(report)


def test_label_helper_of_these_tests_round_trips():
    assert qmail_log.decode_label(label(T0 + 0.25)) == pytest.approx(T0 + 0.25, abs=1e-6)


# -- qmail-send -----------------------------------------------------------------------------------

def test_deliveries_are_matched_to_their_message_and_recipient(tmp_path):
    report = report_of(write_log(tmp_path / "qmail-send", "current", timed(SEND_LOG)))
    assert report["lines"]["total"] == len(SEND_LOG)
    assert report["lines"]["parsed"] == len(SEND_LOG) and report["lines"]["unparsed"] == 0
    assert report["messages"]["received"] == 2 and report["messages"]["bytes"] == 2345 + 812
    assert report["messages"]["completed"] == 1 and report["messages"]["open"] == 1
    assert report["messages"]["bounces"] == 1
    # new msg at line 1, end msg at line 16, one second apart each
    assert report["messages"]["average_seconds_in_queue"] == pytest.approx(15.0)
    deliveries = report["deliveries"]
    assert deliveries["by_channel"]["local"] == {"success": 1, "failure": 0, "deferral": 0}
    assert deliveries["by_channel"]["remote"] == {"success": 0, "failure": 1, "deferral": 1}
    assert (deliveries["success"], deliveries["failure"], deliveries["deferral"]) == (1, 1, 1)
    assert deliveries["in_progress"] == 1
    assert report["failure_reasons"] == [{"reason": "Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/", "count": 1}]
    assert report["deferral_reasons"][0]["reason"].startswith("Connected_to_192.0.2.5")


def test_a_retried_recipient_counts_once_per_message_with_the_message_size(tmp_path):
    report = report_of(write_log(tmp_path / "qmail-send", "current", timed(SEND_LOG)))
    recipients = {e["address"]: (e["messages"], e["bytes"]) for e in report["top_recipients"]}
    assert recipients == {"bob@example.com": (1, 2345), "carol@example.net": (1, 2345),
                          "alice@example.com": (1, 812)}
    senders = {e["address"]: (e["messages"], e["bytes"]) for e in report["top_senders"]}
    assert senders == {"alice@example.com": (1, 2345), "": (1, 812)}


def test_time_in_the_queue_from_new_msg_to_end_msg(tmp_path):
    log = [(T0, "new msg 1"), (T0 + 1, "new msg 2"), (T0 + 3, "end msg 1"), (T0 + 7, "end msg 2"),
           (T0 + 8, "end msg 3")]
    messages = report_of(write_log(tmp_path / "qmail-send", "current", log))["messages"]
    assert messages["average_seconds_in_queue"] == pytest.approx(4.5)
    assert messages["max_seconds_in_queue"] == pytest.approx(6.0)
    assert (messages["received"], messages["completed"], messages["open"]) == (2, 3, 0)


def test_delivery_numbers_restart_with_qmail_send(tmp_path):
    log = timed([
        "new msg 10", "info msg 10: bytes 100 from <a@example.com> qp 1 uid 0",
        "starting delivery 1: msg 10 to remote x@example.net",
        "delivery 1: deferral: timeout/",
        "status: exiting",
        "starting delivery 1: msg 10 to local y@example.com",
        "status: exiting",
        "starting delivery 1: msg 10 to remote x@example.net",
        "delivery 1: success: 192.0.2.7_accepted_message./",
    ])
    report = report_of(write_log(tmp_path / "qmail-send", "current", log))
    # the local delivery never reported before qmail-send exited: it is not waiting for a result
    assert report["deliveries"]["by_channel"]["remote"] == {"success": 1, "failure": 0, "deferral": 1}
    assert report["deliveries"]["by_channel"]["local"] == {"success": 0, "failure": 0, "deferral": 0}
    assert report["deliveries"]["in_progress"] == 0


def test_a_result_whose_start_is_not_in_the_log_has_an_unknown_channel(tmp_path):
    log = timed(["delivery 77: success: did_1+0+0/", "delivery 78: report mangled, will defer", "end msg 5"])
    report = report_of(write_log(tmp_path / "qmail-send", "current", log))
    assert report["deliveries"]["by_channel"]["unknown"] == {"success": 1, "failure": 0, "deferral": 1}
    assert report["deferral_reasons"] == [{"reason": "report mangled", "count": 1}]
    assert report["messages"]["completed"] == 1 and report["messages"]["average_seconds_in_queue"] is None


def test_concurrency_peaks_of_every_channel_and_when_they_were_reached(tmp_path):
    log = timed([
        "status: local 0/10 remote 0/20 suppl0 0/5",
        "status: local 2/10 remote 7/20 suppl0 1/5",
        "status: local 3/10 remote 7/20 suppl0 1/5",
        "status: local 1/12 remote 5/20 suppl0 0/5 exitasap",
        "starting delivery 9: msg 3 to suppl0 z@example.org",
    ])
    report = report_of(write_log(tmp_path / "qmail-send", "current", log))
    concurrency = report["concurrency"]
    assert (concurrency["local"]["peak"], concurrency["local"]["limit"], concurrency["local"]["at"]) == (3, 12, T0 + 2)
    assert (concurrency["remote"]["peak"], concurrency["remote"]["at"]) == (7, T0 + 1)
    assert concurrency["suppl0"]["peak"] == 1
    assert concurrency["remote"]["at_utc"] == "2026-12-02T06:30:01Z"
    assert report["lines"]["unparsed"] == 0


def test_bounce_discards_alerts_and_warnings_are_counted(tmp_path):
    log = timed([
        "triple bounce: discarding bounce/4711", "double bounce: discarding bounce/4712",
        "alert: unable to append to bounce message; HELP! sleeping...",
        "warning: trouble opening local/1/4711; will try again later",
        "status: qmail-todo stop processing asap",
        "triple bounce: something else",
    ])
    report = report_of(write_log(tmp_path / "qmail-send", "current", log))
    assert report["messages"]["triple_bounces_discarded"] == 1
    assert report["messages"]["double_bounces_discarded"] == 1
    assert (report["alerts"], report["warnings"]) == (1, 1)
    assert report["lines"]["unparsed_samples"] == ["triple bounce: something else"]


@pytest.mark.parametrize("text", [
    "new msg x12", "info msg 12: bytes many from <a@b> qp 1 uid 2", "starting delivery 1: msg 2 to",
    "delivery 1: maybe: text", "status: local 1/x", "end msg", "bounce msg 4 qp", "tcpserver: ok",
    "rblsmtpd: 192.0.2.1 pid 12: hello", "qlogenvelope: nothing=here", "qmail-smtpd: greetings",
    "CHKUSER something", "new", "",
])
def test_near_misses_are_unparsed_not_guessed(tmp_path, text):
    report = report_of(write_log(tmp_path / "qmail-send", "current", timed([text])))
    assert report["lines"]["unparsed"] == 1 and report["lines"]["parsed"] == 0


# -- tcpserver, rblsmtpd, qmail-smtpd -------------------------------------------------------------

def test_tcpserver_sessions_denials_and_rblsmtpd_refusals(tmp_path):
    smtpd = tmp_path / "qmail-smtpd"
    smtpd.mkdir()
    (smtpd / "current").write_text(TCPSERVER_LOG)
    session = report_of(smtpd)["sessions"]["qmail-smtpd"]
    assert (session["accepted"], session["denied"], session["ended"], session["refused"]) == (2, 1, 3, 2)
    assert session["refusal_reasons"] == [{"reason": "rblsmtpd 451 temporarily blocked", "count": 1},
                                          {"reason": "rblsmtpd 553 listed as spam source", "count": 1}]
    assert (session["concurrency"]["peak"], session["concurrency"]["limit"]) == (1, 3)
    assert session["concurrency"]["at"] == qmail_log.decode_label("@400000006b0fbd1330a0825c")


def test_the_client_address_is_taken_out_of_rblsmtpd_texts(tmp_path):
    log = timed(["rblsmtpd: 192.0.2.%d pid %d: 451 http://dnsbl.example/query?ip=192.0.2.%d" % (i, 100 + i, i)
                 for i in range(1, 4)])
    session = report_of(write_log(tmp_path / "qmail-smtpd", "current", log))["sessions"]["qmail-smtpd"]
    assert session["refusal_reasons"] == [{"reason": "rblsmtpd 451 http://dnsbl.example/query?ip=<ip>", "count": 3}]


def test_tcpserver_problems_are_alerts_and_warnings(tmp_path):
    log = timed(["tcpserver: fatal: unable to bind: address already used",
                 "tcpserver: warning: dropping connection, unable to run child"])
    report = report_of(write_log(tmp_path / "qmail-smtpd", "current", log))
    assert (report["alerts"], report["warnings"]) == (1, 1)


def qlog(head, result, code, reason, detail="", pid=500):
    return ("%s: result=%s code=%s reason=%s detail=%s helo=client.example mailfrom=a@example.net "
            "rcptto=u@example.com relay=no rcpthosts=yes size= authuser= authtype= encrypted= sslverified=no "
            "localip=192.0.2.1 localport=25 remoteip=198.51.100.7 remoteport=40112 remotehost= qp=%d pid=%d"
            % (head, result, code, reason, detail, pid, pid))


def test_sagredo_qlog_lines_give_refusal_reasons_and_accepted_messages(tmp_path):
    log = timed([
        "qmail-smtpd[500]: validrcptto: drop address <nobody@example.com> at 198.51.100.7",
        qlog("qlogenvelope", "rejected", "553", "validrcptto"),
        "qmail-smtpd[501]: badmailfrom: <spam@example.org> matches pattern: .*@example.org",
        qlog("qlogenvelope", "rejected", "553", "qregexbmf", ".*@example.org", pid=501),
        qlog("qlogenvelope", "rejected", "550", "chkuser", "nomailbox", pid=502),
        qlog("qlogenvelope", "rejected", "553", "rblreject", "zen.spamhaus.org", pid=503),
        "qmail-smtpd[504]: validrcptto: accepted address <u@example.com> at 198.51.100.7",
        qlog("qlogreceived", "accepted", "250", "queueaccept", pid=504),
        "qmail-smtpd[505]: rbl: ip=198.51.100.9 query=zen.spamhaus.org result=pass message=''",
    ])
    session = report_of(write_log(tmp_path / "qmail-smtpd", "current", log))["sessions"]["qmail-smtpd"]
    # each refusal once, though qregex and validrcptto warn before their qlog line
    assert session["refused"] == 4
    assert {r["reason"]: r["count"] for r in session["refusal_reasons"]} == {
        "qmail-smtpd 553 validrcptto": 1, "qmail-smtpd 553 qregexbmf": 1,
        "qmail-smtpd 550 chkuser/nomailbox": 1, "qmail-smtpd 553 rblreject": 1}
    assert session["smtp_messages_accepted"] == 1


def test_without_qlog_lines_the_qregex_and_chkuser_warnings_are_the_refusals(tmp_path):
    log = timed([
        "qmail-smtpd: badmailfrom: <spam@example.org> at 198.51.100.7",
        "qmail-smtpd[77]: badrcptto: <x@example.com> at 198.51.100.7",
        "qmail-smtpd[78]: rcptcheck: drop address <y@example.com> at 198.51.100.7",
        "CHKUSER rejected rcpt: from <a@example.net|remoteinfo/auth:|chkuser-identify:> remote "
        "<helo:c|remotehostname:|remotehostip:198.51.100.7> rcpt <z@example.com> : not existing recipient",
        "CHKUSER accepted rcpt: from <a@example.net|remoteinfo/auth:|chkuser-identify:> remote "
        "<helo:c|remotehostname:|remotehostip:198.51.100.7> rcpt <u@example.com> : found existing recipient",
        "qmail-smtpd: read failed (connection reset): a@example.net from 198.51.100.7 to u@example.com helo c",
    ])
    report = report_of(write_log(tmp_path / "qmail-smtpd", "current", log))
    session = report["sessions"]["qmail-smtpd"]
    assert {r["reason"]: r["count"] for r in session["refusal_reasons"]} == {
        "qmail-smtpd badmailfrom": 1, "qmail-smtpd badrcptto": 1, "qmail-smtpd rcptcheck": 1,
        "chkuser not existing recipient": 1}
    assert report["lines"]["unparsed"] == 0


def test_services_are_kept_apart_and_named_by_their_directory(tmp_path):
    write_log(tmp_path / "qmail-smtpd", "current", timed(["tcpserver: ok 1 :192.0.2.1:25 :198.51.100.1::4000"]))
    write_log(tmp_path / "qmail-pop3d", "current", timed(["tcpserver: deny 2 :192.0.2.1:110 :198.51.100.2::4001",
                                                          "tcpserver: status: 4/40"]))
    write_log(tmp_path / "qmail-send", "current", timed(SEND_LOG))
    report = report_of(tmp_path / "qmail-send", tmp_path / "qmail-smtpd", tmp_path / "qmail-pop3d")
    sessions = report["sessions"]
    assert sorted(sessions) == ["qmail-pop3d", "qmail-smtpd"]
    assert (sessions["qmail-smtpd"]["accepted"], sessions["qmail-smtpd"]["denied"]) == (1, 0)
    assert (sessions["qmail-pop3d"]["accepted"], sessions["qmail-pop3d"]["denied"]) == (0, 1)
    assert sessions["qmail-pop3d"]["concurrency"]["peak"] == 4
    assert [s["service"] for s in report["sources"]] == ["qmail-send", "qmail-smtpd", "qmail-pop3d"]


def test_two_directories_with_one_name_stay_two_services(tmp_path):
    for side in ("a", "b"):
        write_log(tmp_path / side / "qmail-smtpd", "current", timed(["tcpserver: ok 1 :192.0.2.1:25 :x::1"]))
    report = report_of(tmp_path / "a" / "qmail-smtpd", tmp_path / "b" / "qmail-smtpd")
    assert sorted(report["sessions"]) == [str(tmp_path / "b" / "qmail-smtpd"), "qmail-smtpd"]


# -- files, order, windows ------------------------------------------------------------------------

def rotated_send_log(directory):
    """The same message spread over two rotated files and current, as multilog names them."""
    write_log(directory, label(T0 + 10) + ".s",
              timed(["new msg 7", "info msg 7: bytes 50 from <s@example.com> qp 1 uid 0"], start=T0))
    write_log(directory, label(T0 + 20) + ".u", timed(["starting delivery 1: msg 7 to remote r@example.net"],
                                                      start=T0 + 11))
    write_log(directory, "current", timed(["delivery 1: success: ok/", "end msg 7"], start=T0 + 21))
    for other in ("lock", "state", "@notalabel.s", label(T0) + ".x"):
        (directory / other).write_text("new msg 1\n")
    return directory


def recording_open():
    """The names of the files the reader opens, and an open_text that notes them."""
    opened = []

    def open_text(path):
        opened.append(os.path.basename(path))
        return qmail_log._open_text(path)
    return opened, open_text


def test_rotated_files_are_read_in_name_order_then_current(tmp_path):
    directory = rotated_send_log(tmp_path / "qmail-send")
    opened, open_text = recording_open()
    report = qmail_log.collect([str(directory)], list_dir=lambda p: sorted(os.listdir(p), reverse=True),
                               open_text=open_text)
    assert opened == [label(T0 + 10) + ".s", label(T0 + 20) + ".u", "current"]
    assert report["deliveries"]["by_channel"]["remote"]["success"] == 1
    assert report["messages"]["received"] == 1 and report["messages"]["open"] == 0
    assert report["range"]["first"] == T0 and report["range"]["last"] == T0 + 22
    assert [f["lines"] for f in report["sources"][0]["files"]] == [2, 1, 2]


def test_a_window_skips_lines_and_files_closed_before_it(tmp_path):
    directory = rotated_send_log(tmp_path / "qmail-send")
    opened, open_text = recording_open()
    report = qmail_log.collect([str(directory)], since=T0 + 11, until=T0 + 22, open_text=open_text)
    assert opened == [label(T0 + 20) + ".u", "current"]
    assert report["sources"][0]["files"][0] == {"name": label(T0 + 10) + ".s", "lines": 0, "read": False}
    # current's "end msg" at T0 + 22 is at `until`, outside the half-open window
    assert report["lines"]["total"] == 3 and report["lines"]["skipped"] == 1
    assert report["deliveries"]["by_channel"]["remote"]["success"] == 1
    assert report["messages"]["completed"] == 0
    assert report["window"]["since_utc"] == "2026-12-02T06:30:11Z"


def test_lines_without_a_label_count_without_a_window_and_are_skipped_with_one(tmp_path):
    directory = write_log(tmp_path / "qmail-send", "current", ["new msg 1", (T0, "new msg 2")])
    plain = report_of(directory)
    assert plain["messages"]["received"] == 2 and plain["lines"]["undated"] == 1
    windowed = report_of(directory, since=T0 - 60)
    assert windowed["messages"]["received"] == 1
    assert windowed["lines"]["skipped"] == 1 and windowed["lines"]["undated"] == 1


def test_missing_and_unreadable_directories_and_files_are_reported(tmp_path):
    directory = write_log(tmp_path / "qmail-send", "current", timed(["new msg 1"]))
    (tmp_path / "plain-file").write_text("x")

    def open_text(path):
        raise PermissionError(13, "Permission denied", path)

    report = qmail_log.collect([str(directory), str(tmp_path / "nowhere"), str(tmp_path / "plain-file")],
                               open_text=open_text)
    assert report["missing"] == [str(tmp_path / "nowhere")]
    assert report["sources"][0]["errors"] == ["%s: Permission denied" % (directory / "current")]
    assert report["sources"][2]["errors"] and not report["sources"][2]["missing"]
    text = qmail_log.render(report)
    assert "missing: %s" % (tmp_path / "nowhere") in text and "Permission denied" in text


def test_undecodable_bytes_and_a_truncated_last_line_are_read(tmp_path):
    directory = tmp_path / "qmail-send"
    directory.mkdir()
    (directory / "current").write_bytes(
        label(T0).encode() + b" new msg 1\n" + label(T0 + 1).encode()
        + b" info msg 1: bytes 10 from <j\xf6rg@example.com> qp 2 uid 3\n"
        + label(T0 + 2).encode() + b" \xff\xfe\x00garbage\n" + label(T0 + 3).encode() + b" end msg 1")
    report = report_of(directory)
    assert report["top_senders"][0]["address"] == "j\ufffdrg@example.com"
    assert report["messages"]["completed"] == 1
    assert (report["lines"]["total"], report["lines"]["parsed"], report["lines"]["unparsed"]) == (4, 3, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=120).filter(lambda b: b"\n" not in b)), max_size=30))
def test_random_bytes_never_raise_and_every_line_is_counted(tmp_path_factory, lines):
    directory = tmp_path_factory.mktemp("garbage") / "qmail-send"
    directory.mkdir()
    data = b"".join((label(T0 + i).encode() + b" " if dated else b"") + raw + b"\n"
                    for i, (dated, raw) in enumerate(lines))
    (directory / "current").write_bytes(data)
    for window in ({}, {"since": T0 + 5}):
        report = report_of(directory, **window)
        counts = report["lines"]
        assert counts["total"] == len(lines)
        assert counts["parsed"] + counts["unparsed"] + counts["skipped"] == counts["total"]
        assert counts["undated"] == len([1 for dated, _raw in lines if not dated])
        qmail_log.render(report)


KNOWN_HEADS = ["new msg ", "info msg ", "starting delivery ", "delivery ", "status: ", "end msg ", "bounce msg ",
               "triple bounce: ", "tcpserver: ", "tcpserver: ok ", "rblsmtpd: ", "qlogenvelope: result=rejected ",
               "qmail-smtpd[1]: ", "CHKUSER rejected rcpt: from <", "alert: "]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KNOWN_HEADS), st.text(max_size=80).filter(lambda t: "\n" not in t and "\r" not in t))
def test_known_heads_with_any_tail_never_raise(tmp_path_factory, head, tail):
    # "end msg " + digits is a real end line, which the count below must not include
    assume(head != "end msg " or not any(char.isdigit() for char in tail))
    directory = tmp_path_factory.mktemp("tails") / "qmail-send"
    write_log(directory, "current", [(T0, head + tail), (T0 + 1, "end msg 1")])
    report = report_of(directory)
    assert report["lines"]["parsed"] + report["lines"]["unparsed"] == 2
    assert report["messages"]["completed"] == 1


# -- top lists and text ---------------------------------------------------------------------------

def test_top_lists_rank_by_messages_then_bytes_then_address(tmp_path):
    senders = [("c@x", 10), ("a@x", 5), ("b@x", 5), ("b@x", 5), ("d@x", 1), ("d@x", 1), ("e@x", 900)]
    lines = []
    for number, (sender, size) in enumerate(senders):
        lines += ["new msg %d" % number, "info msg %d: bytes %d from <%s> qp 1 uid 0" % (number, size, sender)]
    directory = write_log(tmp_path / "qmail-send", "current", timed(lines))
    top = report_of(directory, top=3)["top_senders"]
    assert [(e["address"], e["messages"], e["bytes"]) for e in top] == [("b@x", 2, 10), ("d@x", 2, 2),
                                                                        ("e@x", 1, 900)]
    assert report_of(directory, top=0)["top_senders"] == []


def table(text, title):
    """The rows of the text table whose heading starts with title: {first cell: other cells}."""
    block = [b for b in text.split("\n\n") if b.startswith(title)][0]
    return {line.split()[0]: line.split()[1:] for line in block.splitlines()[1:] if line.startswith("  ")}


def test_text_shows_the_figures(tmp_path):
    write_log(tmp_path / "qmail-send", "current", timed(SEND_LOG))
    smtpd = tmp_path / "qmail-smtpd"
    smtpd.mkdir()
    (smtpd / "current").write_text(TCPSERVER_LOG)
    report = report_of(tmp_path / "qmail-send", smtpd)
    text = qmail_log.render(report)
    assert table(text, "messages")["received"] == ["2", str(2345 + 812)]
    deliveries = table(text, "deliveries")
    assert deliveries["local"] == ["1", "0", "0"]
    assert deliveries["remote"] == ["0", "1", "1"]
    assert deliveries["total"] == ["1", "1", "1"]
    concurrency = table(text, "concurrency")
    assert concurrency["local"] == ["1", "10", report["concurrency"]["local"]["at_utc"]]
    assert concurrency["qmail-smtpd"] == ["(tcpserver)", "1", "3", report["sessions"]["qmail-smtpd"]["concurrency"]["at_utc"]]
    assert table(text, "sessions")["qmail-smtpd"] == ["2", "1", "2"]
    assert table(text, "top recipients")["carol@example.net"] == ["1", "2345"]
    assert table(text, "top senders")["<>"] == ["1", "812"]
    assert re.search(r"^refusals by qmail-smtpd +count\n  rblsmtpd 451 temporarily blocked +1\n"
                     r"  rblsmtpd 553 listed as spam source +1$", text, re.M)
    assert "qmail logs from %s to %s" % (report["range"]["first_utc"], report["range"]["last_utc"]) in text
    total = len(SEND_LOG) + len(TCPSERVER_LOG.splitlines())
    assert "lines: %d read, %d parsed, 0 unparsed" % (total, total) in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_long_names_are_cut_to_the_column(tmp_path):
    address = "x" * 70 + "@example.com"
    directory = write_log(tmp_path / "qmail-send", "current",
                          timed(["new msg 1", "info msg 1: bytes 5 from <%s> qp 1 uid 0" % address]))
    report = report_of(directory)
    text = qmail_log.render(report)
    assert report["top_senders"][0]["address"] == address
    assert "  " + "x" * (qmail_log.NAME_WIDTH - 3) + "...         1         5" in text


def test_text_of_nothing_read(tmp_path):
    text = qmail_log.render(report_of(tmp_path / "none"))
    assert text.splitlines()[0] == "qmail logs: no dated line read"
    assert "(none)" in text


# -- options ---------------------------------------------------------------------------------------

NOW = 1796193533.0


@pytest.mark.parametrize("value, expected", [
    (None, None),
    (1796100000, 1796100000.0),
    (1796100000.5, 1796100000.5),
    ("1796100000", 1796100000.0),
    (" 24h ", NOW - 86400),
    ("30m", NOW - 1800),
    ("1d12h", NOW - 129600),
    ("2w", NOW - 1209600),
    ("90s", NOW - 90),
    ("2026-12-01", 1796083200.0),
    ("2026-12-01T06:00:00Z", 1796104800.0),
    ("2026-12-01 06:00", 1796104800.0),
])
def test_when_forms(value, expected):
    assert qmail_log.parse_when(value, "since", NOW) == expected


@pytest.mark.parametrize("value", ["yesterday", "24x", "-5", "1e9", "", "2026-13-01", "2026-02-30",
                                   "2026-12-01T25:00", True, float("inf"), float("nan"), -1, [24], "٣h"])
def test_bad_when_is_refused_by_field_and_value(value):
    with pytest.raises(ValidationError) as err:
        qmail_log.parse_when(value, "until", NOW)
    assert str(err.value).startswith("until: %r is not" % (value,))
    assert "24h" in str(err.value)


def test_an_empty_window_is_refused(tmp_path):
    with pytest.raises(ValidationError, match=r"^since: .* is not before until"):
        report_of(tmp_path, since=T0, until=T0)


@pytest.mark.parametrize("value", ["var/log/qmail", "", "/var/\x00log", "/var/\ud800", 5])
def test_log_dirs_must_be_absolute_paths(value):
    with pytest.raises(ValidationError, match=r"^log_dirs: "):
        qmail_log.collect([value])


# -- the module ------------------------------------------------------------------------------------

def test_module_reports_without_changing_anything(capsys, tmp_path):
    write_log(tmp_path / "qmail-send", "current", timed(SEND_LOG))
    for check in (False, True):
        result = run_module(log_report_module.main, capsys, check=check, owner=None, group=None,
                            log_dirs=[str(tmp_path / "qmail-send"), str(tmp_path / "qmail-smtpd")], top=2)
        assert result["changed"] is False and "failed" not in result
        assert result["report"]["messages"]["received"] == 2
        assert len(result["report"]["top_recipients"]) == 2
        assert result["report"]["missing"] == [str(tmp_path / "qmail-smtpd")]
        assert result["text"] == qmail_log.render(result["report"])


def test_module_window_from_a_duration_before_now(capsys, tmp_path, monkeypatch):
    write_log(tmp_path / "qmail-send", "current", timed(SEND_LOG))
    monkeypatch.setattr(log_report_module.time, "time", lambda: T0 + 10)
    result = run_module(log_report_module.main, capsys, owner=None, group=None,
                        log_dirs=[str(tmp_path / "qmail-send")], since="5s", until="1s")
    assert result["report"]["window"]["since"] == T0 + 5 and result["report"]["window"]["until"] == T0 + 9
    assert result["report"]["lines"]["skipped"] == len(SEND_LOG) - 4
    assert result["report"]["range"] == {"first": T0 + 5, "last": T0 + 8, "first_utc": "2026-12-02T06:30:05Z",
                                         "last_utc": "2026-12-02T06:30:08Z"}


@pytest.mark.parametrize("args, field", [
    ({"since": "yesterday"}, "since"),
    ({"until": [1]}, "until"),
    ({"top": -1}, "top"),
    ({"log_dirs": ["relative/dir"]}, "log_dirs"),
    ({"since": "2026-12-02", "until": "2026-12-01"}, "since"),
])
def test_module_refuses_bad_options_by_name(capsys, tmp_path, args, field):
    args.setdefault("log_dirs", [str(tmp_path)])
    result = run_module(log_report_module.main, capsys, owner=None, group=None, **args)
    assert result["failed"] is True and "exception" not in result, result
    assert result["msg"].startswith(field + ":")
