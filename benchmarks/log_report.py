# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a synthetic multilog log set of about 100k lines (qmail-send and qmail-smtpd, rotated files
and current) with the collection's log report, and print lines, seconds and lines per second.

The mix follows a busy server: each message logs new/info, one to three deliveries with their
status lines, deferrals retried, some failures and bounces; each SMTP session logs tcpserver's
status/pid/ok/end lines, some are denied or refused by rblsmtpd or sagredo's qlog lines.

Prints figures only (no pass/fail): run `python3 benchmarks/log_report.py [--lines N] [--repeat N]`.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T0 = 1796100000
# multilog rotates at this many lines here, so the set has rotated files as well as current.
LINES_PER_FILE = 20000


def import_collection(root):
    """Make `ansible_collections.mailops.qmail` importable from this checkout."""
    os.makedirs(os.path.join(root, "ansible_collections", "mailops"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "mailops", "qmail"))
    sys.path.insert(0, root)


def label(stamp):
    seconds = int(stamp)
    return "@%016x%08x" % (2 ** 62 + 10 + seconds, int((stamp - seconds) * 1e9))


def send_lines(rng, count):
    """About `count` qmail-send lines: whole messages, deliveries interleaved by concurrency."""
    lines, clock, message, delivery, local, remote = [], float(T0), 100000, 0, 0, 0
    senders = ["user%d@example.com" % i for i in range(200)] + [""]
    recipients = ["rcpt%d@example.net" % i for i in range(2000)] + ["u%d@example.com" % i for i in range(100)]
    while len(lines) < count:
        message += 1
        clock += rng.random() * 0.5
        lines.append((clock, "new msg %d" % message))
        lines.append((clock, "info msg %d: bytes %d from <%s> qp %d uid %d"
                      % (message, rng.randint(500, 200000), rng.choice(senders), message + 7, rng.choice((0, 1000)))))
        for _rcpt in range(rng.choice((1, 1, 1, 2, 3))):
            recipient = rng.choice(recipients)
            channel = "local" if recipient.endswith("example.com") else "remote"
            for attempt in range(2 if rng.random() < 0.1 else 1):
                delivery += 1
                if channel == "local":
                    local += 1
                else:
                    remote += 1
                lines.append((clock, "starting delivery %d: msg %d to %s %s" % (delivery, message, channel, recipient)))
                lines.append((clock, "status: local %d/10 remote %d/20" % (local, remote)))
                clock += rng.random()
                roll = rng.random()
                if attempt == 0 and roll < 0.1:
                    result = "deferral: Connected_to_192.0.2.%d_but_connection_died._(#4.4.2)/" % rng.randint(1, 254)
                elif roll < 0.03:
                    result = "failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/"
                elif channel == "local":
                    result = "success: did_0+0+1/"
                else:
                    result = "success: 192.0.2.%d_accepted_message./Remote_host_said:_250_ok_%d/" % (
                        rng.randint(1, 254), message)
                lines.append((clock, "delivery %d: %s" % (delivery, result)))
                if channel == "local":
                    local -= 1
                else:
                    remote -= 1
                lines.append((clock, "status: local %d/10 remote %d/20" % (local, remote)))
                if result.startswith("failure"):
                    lines.append((clock, "bounce msg %d qp %d" % (message, message + 9)))
        lines.append((clock, "end msg %d" % message))
    return lines


def smtpd_lines(rng, count):
    """About `count` tcpserver/rblsmtpd/qmail-smtpd lines of SMTP sessions."""
    lines, clock, pid, active = [], float(T0), 20000, 0
    while len(lines) < count:
        pid += 1
        clock += rng.random() * 2
        client = "198.51.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254))
        active += 1
        lines.append((clock, "tcpserver: status: %d/40" % active))
        lines.append((clock, "tcpserver: pid %d from %s" % (pid, client)))
        roll = rng.random()
        verdict = "deny" if roll < 0.05 else "ok"
        lines.append((clock, "tcpserver: %s %d mail.example.com:192.0.2.1:25 :%s::%d"
                      % (verdict, pid, client, rng.randint(1024, 65535))))
        if verdict == "ok" and roll < 0.15:
            lines.append((clock, "rblsmtpd: %s pid %d: 451 listed at http://dnsbl.example/q?ip=%s" % (client, pid, client)))
        elif verdict == "ok" and roll < 0.25:
            lines.append((clock, "qlogenvelope: result=rejected code=553 reason=validrcptto detail= helo=x "
                                 "mailfrom=a@example.org rcptto=nobody@example.com relay=no rcpthosts=yes size= "
                                 "authuser= authtype= encrypted= sslverified=no localip=192.0.2.1 localport=25 "
                                 "remoteip=%s remoteport=4000 remotehost= qp=%d pid=%d" % (client, pid, pid)))
        elif verdict == "ok" and roll < 0.26:
            lines.append((clock, "garbage \xff line that nothing parses"))
        clock += rng.random()
        lines.append((clock, "tcpserver: end %d status %d" % (pid, 25600 if verdict == "deny" else 0)))
        active -= 1
        lines.append((clock, "tcpserver: status: %d/40" % active))
    return lines


def write_multilog(directory, lines):
    """Write lines as multilog does: full files renamed to @<tai64n of rotation>.s, then current."""
    os.makedirs(directory)
    for start in range(0, len(lines), LINES_PER_FILE):
        chunk = lines[start:start + LINES_PER_FILE]
        last = start + LINES_PER_FILE >= len(lines)
        name = "current" if last else label(chunk[-1][0]) + ".s"
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            handle.writelines("%s %s\n" % (label(stamp), text) for stamp, text in chunk)


def timed(function, repeat):
    walls, cpus, result = [], [], None
    for _i in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        result = function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100000, help="lines in the log set (about)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median shown)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="log-report-bench-")
    try:
        measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args, work):
    import_collection(os.path.join(work, "collections"))
    from ansible_collections.mailops.qmail.plugins.module_utils import qmail_log

    rng = random.Random(args.seed)
    send_dir = os.path.join(work, "log", "qmail-send")
    smtpd_dir = os.path.join(work, "log", "qmail-smtpd")
    write_multilog(send_dir, send_lines(rng, args.lines * 7 // 10))
    write_multilog(smtpd_dir, smtpd_lines(rng, args.lines * 3 // 10))
    size = sum(os.path.getsize(os.path.join(d, n)) for d in (send_dir, smtpd_dir) for n in os.listdir(d))
    dirs = [send_dir, smtpd_dir]

    print("log report: pure Python %s; medians of %d runs; load average %s"
          % (sys.version.split()[0], args.repeat, " ".join("%.2f" % x for x in os.getloadavg())))
    wall, cpu, report = timed(lambda: qmail_log.collect(dirs), args.repeat)
    lines = report["lines"]["total"]
    render_wall, _cpu, _text = timed(lambda: qmail_log.render(report), args.repeat)
    window_wall, _cpu, windowed = timed(
        lambda: qmail_log.collect(dirs, since=report["range"]["last"] - 3600), args.repeat)
    print("%-34s %9s %9s %9s %12s %10s" % ("", "lines", "wall s", "cpu s", "lines/s", "MB/s"))
    print("%-34s %9d %9.3f %9.3f %12.0f %10.1f" % ("full report (2 dirs, %d files)" % sum(
        len(s["files"]) for s in report["sources"]), lines, wall, cpu, lines / wall, size / wall / 1e6))
    windowed_lines = windowed["lines"]["total"]
    print("%-34s %9d %9.3f %9s %12.0f" % ("last hour only (older files skipped)", windowed_lines,
                                          window_wall, "", windowed_lines / window_wall))
    print("%-34s %9s %9.4f" % ("text rendering", "", render_wall))
    print("parsed %d, unparsed %d; messages %d; deliveries %d/%d/%d (success/failure/deferral); sessions %d"
          % (report["lines"]["parsed"], report["lines"]["unparsed"], report["messages"]["received"],
             report["deliveries"]["success"], report["deliveries"]["failure"], report["deliveries"]["deferral"],
             report["sessions"]["qmail-smtpd"]["accepted"]))


if __name__ == "__main__":
    main()
