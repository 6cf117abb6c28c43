# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports from the multilog logs of qmail-send and the tcpserver services, as qmailanalog does.

Reads each service's multilog directory (rotated `@<tai64n>.s`/`.u` files in name order, then
`current`) line by line and counts what qmail-send, tcpserver, rblsmtpd and qmail-smtpd logged:
messages and bytes in, deliveries by channel and result (each matched to its message and recipient
as qmailanalog's matchup does), top senders and recipients, sessions accepted, denied and refused
with reasons, and concurrency peaks. A line nothing here understands is counted, never fatal.

Files are reached through injected `list_dir` and `open_text` callables, so unit tests and the
benchmark run without a host or Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import math
import os
import re
import time

try:
    from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
except ImportError:
    # Installed on the host beside qmailctl's `report`, where the collection is not.
    class ValidationError(ValueError):
        pass

# multilog writes 2**62 + 10 + the Unix time: daemontools keeps TAI-UTC at 10 s and ignores leap
# seconds, and tai64nlocal subtracts the same constant, so this gives what tai64nlocal prints.
TAI64_UNIX_OFFSET = 2 ** 62 + 10
_LABEL = re.compile(r"@([0-9a-fA-F]{16})([0-9a-fA-F]{8})(?: |\Z)")
_ROTATED = re.compile(r"\A@[0-9a-fA-F]{24}\.[su]\Z")

# qmail-send (qmail-send.c, qsutil.c logsafe); each pattern reads what follows the first word.
_NEW_MSG = re.compile(r"msg (\d+)\Z")
_INFO_MSG = re.compile(r"msg (\d+): bytes (\d+) from <(.*)> qp (\d+) uid (\d+)\Z")
_STARTING = re.compile(r"delivery (\d+): msg (\d+) to (\S+) (.*)\Z")
_DELIVERY = re.compile(r"(\d+): (?:(success|deferral|failure): ?(.*)|(report mangled), will defer)\Z")
# One "name used/limit" per channel: local and remote, plus the extra channels of sagredo's tree.
_STATUS = re.compile(r"[^ /]+ \d+/\d+(?: [^ /]+ \d+/\d+)*(?: exitasap)?\Z")
_CHANNEL = re.compile(r"([^ /]+) (\d+)/(\d+)")
_BOUNCE = re.compile(r"msg (\d+) qp (\d+)\Z")
_DISCARD = re.compile(r"bounce: discarding \S+\Z")
# tcpserver -v (ucspi-tcp), rblsmtpd.
_TCP_STATUS = re.compile(r"status: (\d+)/(\d+)\Z")
_TCP_PID = re.compile(r"pid \d+ from \S+\Z")
_TCP_CONN = re.compile(r"(?:ok|deny) \d+ \S* \S*\Z")
_TCP_END = re.compile(r"end \d+ status \d+\Z")
_RBLSMTPD = re.compile(r"(\S+) pid \d+: (\d{3}) ?(.*)\Z")
# sagredo's qmail-smtpd logs every refusal as one qlogenvelope/qlogreceived line of key=value
# fields (spaces in values written as '_'); its older warnings and chkuser's lines repeat some.
_QLOG_FIELD = re.compile(r"(\w+)=(\S*)")
_DETAIL_WORD = re.compile(r"[a-z]+\Z")
_SMTPD_HEAD = re.compile(r"qmail-smtpd(?:\[\d+\])?:\Z")
_SMTPD_REFUSAL = re.compile(r"(badhelo|badmailfrom|badrcptto): |(validrcptto|rcptcheck): (?:drop|overlimit) ")
# The last alternative is the logging patch's "MESSAGE[ (REASON)]: MAILFROM from IP to RCPT helo HELO".
_SMTPD_NOTE = re.compile(r"(?:validrcptto|rcptcheck): (?:accepted|ignore) |rbl: ip=|GREETDELAY |RCPTCHECK |"
                         r"[^:]*: \S* from \S* to \S* helo ")
_CHKUSER = re.compile(r"(rejected|accepted)[a-z ]*: from <.*> : (.*)\Z")

RESULTS = ("success", "failure", "deferral")
# qmail-send's two channels, always reported so that monitoring finds their keys.
CHANNELS = ("local", "remote")
UNPARSED_SAMPLES = 5
REASON_WIDTH = 100

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"\A(?:[0-9]{1,9}[smhdw])+\Z")
_DURATION_PART = re.compile(r"([0-9]+)([smhdw])")
_EPOCH = re.compile(r"\A[0-9]{1,12}(?:\.[0-9]{1,9})?\Z")
_DATE = re.compile(r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?Z?\Z")
WHEN_FORMS = ("epoch seconds (1796193533), a duration before now (30m, 24h, 7d, 2w, 1d12h) "
              "or a UTC date (2026-12-01, 2026-12-01T06:00:00Z)")


def decode_label(label):
    """The Unix time (float seconds) of a tai64n label such as '@4000000063a1b2c30a0b0c0d', or None."""
    match = _LABEL.match(label)
    if match is None:
        return None
    return int(match.group(1), 16) - TAI64_UNIX_OFFSET + int(match.group(2), 16) / 1e9


def split_line(line):
    """(time or None, text) of one log line; a line without a tai64n label has no time."""
    line = line.rstrip("\r\n")
    match = _LABEL.match(line)
    if match is None:
        return None, line
    return int(match.group(1), 16) - TAI64_UNIX_OFFSET + int(match.group(2), 16) / 1e9, line[26:]


def iso(stamp):
    """A Unix time as UTC text, or None for no time or one gmtime cannot show (a garbage label)."""
    if stamp is None:
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
    except (OverflowError, OSError, ValueError):
        return None


def parse_when(value, field, now):
    """A time option as Unix seconds: epoch seconds, a duration before `now`, or a UTC date."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and 0 <= value < 10 ** 12:
            return float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _EPOCH.match(text):
            return float(text)
        if _DURATION.match(text):
            return now - sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
        match = _DATE.match(text)
        if match:
            try:
                moment = datetime.datetime(*[int(p) if p else 0 for p in match.groups()],
                                           tzinfo=datetime.timezone.utc)
            except ValueError:
                raise ValidationError("%s: %r is not a real date and time; give %s" % (field, value, WHEN_FORMS))
            return moment.timestamp()
    raise ValidationError("%s: %r is not a time; give %s" % (field, value, WHEN_FORMS))


def check_window(since, until):
    if since is not None and until is not None and since >= until:
        raise ValidationError("since: %s (%s) is not before until: %s (%s); give a window that is not empty"
                              % (since, iso(since), until, iso(until)))


def check_log_dirs(paths):
    """Each log directory must be an absolute path the OS can take."""
    for path in paths:
        usable = isinstance(path, str) and path.startswith("/") and "\x00" not in path
        if usable:
            try:
                os.fsencode(path)
            except UnicodeEncodeError:
                usable = False
        if not usable:
            raise ValidationError("log_dirs: %r is not an absolute path (text starting with '/', without NUL "
                                  "or lone surrogates), such as /var/log/qmail/qmail-send" % (path,))


def log_files(names):
    """The multilog files of one directory in the order they were written: rotated ones by name
    (their tai64n label is when multilog rotated them), then `current`."""
    ordered = sorted(n for n in names if _ROTATED.match(n))
    if "current" in names:
        ordered.append("current")
    return ordered


def _open_text(path):
    # newline="\n": a stray CR stays in its line instead of splitting it.
    return open(path, "r", encoding="utf-8", errors="replace", newline="\n")


def _top(counter, top, key):
    """The `top` entries of {name: [count, bytes]} by count, then bytes, then name."""
    ranked = sorted(counter.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    return [{key: name, "messages": count, "bytes": size} for name, (count, size) in ranked[:top]]


def _top_reasons(counter, top):
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [{"reason": reason, "count": count} for reason, count in ranked[:top]]


class _Peak:
    """The highest use of a limited resource, when it was first reached, and the last limit seen."""

    __slots__ = ("peak", "limit", "at")

    def __init__(self):
        self.peak, self.limit, self.at = None, None, None

    def see(self, used, limit, stamp):
        if self.peak is None or used > self.peak:
            self.peak, self.at = used, stamp
        self.limit = limit

    def report(self):
        """No status line seen: peak 0 and limit None."""
        return {"peak": self.peak or 0, "limit": self.limit, "at": self.at, "at_utc": iso(self.at)}


class _Service:
    """What the tcpserver of one service, and the programs it runs, logged."""

    def __init__(self, name):
        self.name = name
        self.accepted = 0
        self.denied = 0
        self.ended = 0
        self.refusals = collections.Counter()
        # Refusals told by qregex/validrcptto/chkuser warnings: sagredo's tree writes a qlog line
        # for each as well, so they count only for a service that writes no qlog lines at all.
        self.warned_refusals = collections.Counter()
        self.qlog_seen = False
        self.smtp_messages_accepted = 0
        self.concurrency = _Peak()
        self.active = False

    def report(self, top):
        refusals = self.refusals if self.qlog_seen else self.refusals + self.warned_refusals
        return {"accepted": self.accepted, "denied": self.denied, "ended": self.ended,
                "refused": sum(refusals.values()), "refusal_reasons": _top_reasons(refusals, top),
                "smtp_messages_accepted": self.smtp_messages_accepted,
                "concurrency": self.concurrency.report()}


class _Source:
    """One log directory: its own matchup tables, since qmail-send's message and delivery numbers
    are only unique within one qmail-send."""

    def __init__(self, path, service):
        self.path = path
        self.service = service
        # message number -> [time of "new msg" or None, bytes, recipients already counted]
        self.messages = {}
        # delivery number -> channel, until its result
        self.deliveries = {}
        self.report = {"path": path, "service": service.name, "missing": False, "files": [],
                       "errors": []}


class LogReport:
    """Accumulates parsed lines; `result(top)` gives the JSON-able report."""

    def __init__(self, since=None, until=None):
        self.since, self.until = since, until
        self.lines = collections.Counter(total=0, parsed=0, unparsed=0, skipped=0, undated=0)
        self.unparsed_samples = []
        self.first = self.last = None
        self.messages = collections.Counter(received=0, bytes=0, completed=0, bounces=0,
                                            double_bounces_discarded=0, triple_bounces_discarded=0)
        self.queue_time = [0.0, 0, None]  # sum, count, longest
        self.deliveries = {channel: dict.fromkeys(RESULTS, 0) for channel in CHANNELS}
        self.failure_reasons = collections.Counter()
        self.deferral_reasons = collections.Counter()
        self.senders = collections.defaultdict(lambda: [0, 0])
        self.recipients = collections.defaultdict(lambda: [0, 0])
        self.channels = collections.defaultdict(_Peak)
        self.services = {}
        self.alerts = 0
        self.warnings = 0
        self.sources = []
        self._handlers = {
            "status:": self._status, "starting": self._starting, "delivery": self._delivery,
            "new": self._new, "info": self._info, "end": self._end, "bounce": self._bounce,
            "triple": self._triple, "double": self._double, "alert:": self._alert,
            "warning:": self._warning, "tcpserver:": self._tcpserver, "rblsmtpd:": self._rblsmtpd,
            "qlogenvelope:": self._qlog, "qlogreceived:": self._qlog, "CHKUSER": self._chkuser,
        }

    # -- reading ---------------------------------------------------------------------------------

    def read_dir(self, path, list_dir=os.listdir, open_text=_open_text):
        """Read one multilog directory; a missing or unreadable one is reported, not raised."""
        name = os.path.basename(os.path.normpath(path)) or path
        if any(s.path != path and s.service.name == name for s in self.sources):
            name = path
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = _Service(name)
        source = _Source(path, service)
        self.sources.append(source)
        try:
            names = list_dir(path)
        except FileNotFoundError:
            source.report["missing"] = True
            return source.report
        except OSError as exc:
            source.report["errors"].append("%s: %s" % (path, exc.strerror or exc))
            return source.report
        for file_name in log_files(names):
            file_path = os.path.join(path, file_name)
            rotated_at = decode_label(file_name[:25]) if file_name != "current" else None
            if self.since is not None and rotated_at is not None and rotated_at < self.since:
                source.report["files"].append({"name": file_name, "lines": 0, "read": False})
                continue
            before = self.lines["total"]
            try:
                with open_text(file_path) as handle:
                    for line in handle:
                        self.feed(line, source)
            except OSError as exc:
                source.report["errors"].append("%s: %s" % (file_path, exc.strerror or exc))
            source.report["files"].append({"name": file_name, "lines": self.lines["total"] - before,
                                           "read": True})
        return source.report

    def feed(self, line, source):
        """Count one raw line of `source`'s log."""
        lines = self.lines
        lines["total"] += 1
        stamp, text = split_line(line)
        if stamp is None:
            lines["undated"] += 1
            if self.since is not None or self.until is not None:
                lines["skipped"] += 1
                return
        elif (self.since is not None and stamp < self.since) or (self.until is not None and stamp >= self.until):
            lines["skipped"] += 1
            return
        else:
            if self.first is None or stamp < self.first:
                self.first = stamp
            if self.last is None or stamp > self.last:
                self.last = stamp
        head, _sep, rest = text.partition(" ")
        handler = self._handlers.get(head)
        if handler is None and _SMTPD_HEAD.match(head):
            handler = self._smtpd
        if handler is not None and handler(rest, stamp, source):
            lines["parsed"] += 1
            return
        lines["unparsed"] += 1
        if len(self.unparsed_samples) < UNPARSED_SAMPLES:
            self.unparsed_samples.append(text[:200])

    # -- qmail-send ------------------------------------------------------------------------------

    def _new(self, rest, stamp, source):
        match = _NEW_MSG.match(rest)
        if match is None:
            return False
        source.messages[match.group(1)] = [stamp, 0, set()]
        self.messages["received"] += 1
        return True

    def _info(self, rest, stamp, source):
        match = _INFO_MSG.match(rest)
        if match is None:
            return False
        size = int(match.group(2))
        message = source.messages.setdefault(match.group(1), [None, 0, set()])
        message[1] = size
        self.messages["bytes"] += size
        sender = self.senders[match.group(3)]
        sender[0] += 1
        sender[1] += size
        return True

    def _starting(self, rest, stamp, source):
        match = _STARTING.match(rest)
        if match is None:
            return False
        number, channel, recipient = match.group(2), match.group(3), match.group(4)
        source.deliveries[match.group(1)] = channel
        # A message that began before the log (or the window) still counts each recipient once.
        message = source.messages.setdefault(number, [None, 0, set()])
        if recipient not in message[2]:
            message[2].add(recipient)
            entry = self.recipients[recipient]
            entry[0] += 1
            entry[1] += message[1]
        return True

    def _delivery(self, rest, stamp, source):
        match = _DELIVERY.match(rest)
        if match is None:
            return False
        # A delivery started before the log (or the window) has no known channel.
        channel = source.deliveries.pop(match.group(1), "unknown")
        result = match.group(2) or "deferral"
        counts = self.deliveries.get(channel)
        if counts is None:
            counts = self.deliveries[channel] = dict.fromkeys(RESULTS, 0)
        counts[result] += 1
        reason = match.group(3) if match.group(2) else match.group(4)
        if result == "failure":
            self.failure_reasons[reason[:REASON_WIDTH]] += 1
        elif result == "deferral":
            self.deferral_reasons[reason[:REASON_WIDTH]] += 1
        return True

    def _end(self, rest, stamp, source):
        match = _NEW_MSG.match(rest)
        if match is None:
            return False
        message = source.messages.pop(match.group(1), None)
        self.messages["completed"] += 1
        if message is not None and message[0] is not None and stamp is not None:
            seconds = stamp - message[0]
            queue = self.queue_time
            queue[0] += seconds
            queue[1] += 1
            queue[2] = seconds if queue[2] is None else max(queue[2], seconds)
        return True

    def _status(self, rest, stamp, source):
        if _STATUS.match(rest):
            for channel, used, limit in _CHANNEL.findall(rest):
                self.channels[channel].see(int(used), int(limit), stamp)
            return True
        if rest == "exiting":
            # qmail-send waits for its deliveries before it exits; a new one numbers them from 1.
            source.deliveries.clear()
            return True
        return rest.startswith("qmail-todo ")

    def _bounce(self, rest, stamp, source):
        if _BOUNCE.match(rest) is None:
            return False
        self.messages["bounces"] += 1
        return True

    def _triple(self, rest, stamp, source):
        return self._discarded(rest, "triple_bounces_discarded")

    def _double(self, rest, stamp, source):
        return self._discarded(rest, "double_bounces_discarded")

    def _discarded(self, rest, key):
        if _DISCARD.match(rest) is None:
            return False
        self.messages[key] += 1
        return True

    def _alert(self, rest, stamp, source):
        self.alerts += 1
        return True

    def _warning(self, rest, stamp, source):
        self.warnings += 1
        return True

    # -- tcpserver and the programs it runs --------------------------------------------------------

    def _tcpserver(self, rest, stamp, source):
        service = source.service
        match = _TCP_STATUS.match(rest)
        if match:
            service.concurrency.see(int(match.group(1)), int(match.group(2)), stamp)
        elif _TCP_CONN.match(rest):
            if rest.startswith("ok "):
                service.accepted += 1
            else:
                service.denied += 1
        elif _TCP_END.match(rest):
            service.ended += 1
        elif rest.startswith("fatal: "):
            self.alerts += 1
        elif rest.startswith("warning: "):
            self.warnings += 1
        elif not _TCP_PID.match(rest):
            return False
        service.active = True
        return True

    def _rblsmtpd(self, rest, stamp, source):
        match = _RBLSMTPD.match(rest)
        if match is None:
            return False
        ip, code, text = match.groups()
        # DNSBL texts often carry the client's address; without it one list gives one reason.
        text = text.replace(ip, "<ip>")
        source.service.refusals[("rblsmtpd %s %s" % (code, text))[:REASON_WIDTH]] += 1
        source.service.active = True
        return True

    def _qlog(self, rest, stamp, source):
        fields = dict(_QLOG_FIELD.findall(rest))
        result = fields.get("result")
        if result not in ("accepted", "rejected"):
            return False
        service = source.service
        service.qlog_seen = service.active = True
        if result == "rejected":
            reason = fields.get("reason") or "unknown"
            # Short words (chkuser's nomailbox, spf's lookupfailure) tell why; a matched regex
            # or a DNSBL's name would make one reason per value.
            detail = fields.get("detail", "")
            if _DETAIL_WORD.match(detail):
                reason = "%s/%s" % (reason, detail)
            service.refusals["qmail-smtpd %s %s" % (fields.get("code", ""), reason)] += 1
        elif fields.get("reason") == "queueaccept":
            service.smtp_messages_accepted += 1
        return True

    def _smtpd(self, rest, stamp, source):
        match = _SMTPD_REFUSAL.match(rest)
        if match:
            source.service.warned_refusals["qmail-smtpd %s" % (match.group(1) or match.group(2))] += 1
            source.service.active = True
            return True
        return _SMTPD_NOTE.match(rest) is not None

    def _chkuser(self, rest, stamp, source):
        match = _CHKUSER.match(rest)
        if match is None:
            return False
        if match.group(1) == "rejected":
            source.service.warned_refusals["chkuser %s" % match.group(2)[:REASON_WIDTH]] += 1
            source.service.active = True
        return True

    # -- the report ------------------------------------------------------------------------------

    def result(self, top):
        """The report, with `top` entries in each top list."""
        in_progress = sum(len(s.deliveries) for s in self.sources)
        totals = dict.fromkeys(RESULTS, 0)
        for counts in self.deliveries.values():
            for result in RESULTS:
                totals[result] += counts[result]
        total, count, longest = self.queue_time
        messages = dict(self.messages)
        messages.update(open=sum(len(s.messages) for s in self.sources),
                        average_seconds_in_queue=total / count if count else None,
                        max_seconds_in_queue=longest)
        totals.update(by_channel=dict(self.deliveries), in_progress=in_progress)
        return {
            "window": {"since": self.since, "until": self.until,
                       "since_utc": iso(self.since), "until_utc": iso(self.until)},
            "range": {"first": self.first, "last": self.last,
                      "first_utc": iso(self.first), "last_utc": iso(self.last)},
            "sources": [s.report for s in self.sources],
            "missing": [s.path for s in self.sources if s.report["missing"]],
            "lines": dict(self.lines, unparsed_samples=list(self.unparsed_samples)),
            "messages": messages,
            "deliveries": totals,
            "failure_reasons": _top_reasons(self.failure_reasons, top),
            "deferral_reasons": _top_reasons(self.deferral_reasons, top),
            "top_senders": _top(self.senders, top, "address"),
            "top_recipients": _top(self.recipients, top, "address"),
            "concurrency": {name: self.channels[name].report()
                            for name in sorted(set(CHANNELS) | set(self.channels))},
            "sessions": {name: service.report(top) for name, service in self.services.items()
                         if service.active},
            "alerts": self.alerts,
            "warnings": self.warnings,
        }


def collect(log_dirs, since=None, until=None, top=10, list_dir=os.listdir, open_text=_open_text):
    """The report over the multilog directories `log_dirs`, lines in [since, until) only."""
    check_log_dirs(log_dirs)
    check_window(since, until)
    report = LogReport(since, until)
    for path in log_dirs:
        report.read_dir(path, list_dir=list_dir, open_text=open_text)
    return report.result(top)


NAME_WIDTH = 48


def _name(text):
    """A first-column cell: at most NAME_WIDTH characters, the cut marked."""
    return text if len(text) <= NAME_WIDTH else text[:NAME_WIDTH - 3] + "..."


def _table(title, columns, rows, widths=None):
    """A fixed-width table: a left-aligned name column, then right-aligned columns (10 wide
    unless `widths` says otherwise); None shows as '-'."""
    widths = widths or [10] * len(columns)
    lines = ["%-*s%s" % (NAME_WIDTH + 2, title, "".join("%*s" % (w, c) for w, c in zip(widths, columns)))]
    if not rows:
        lines.append("  (none)")
    for name, values in rows:
        lines.append(("  %-*s%s" % (NAME_WIDTH, _name(name), "".join(
            "%*s" % (w, "-" if v is None else v) for w, v in zip(widths, values)))).rstrip())
    return lines


def _seconds(value):
    return "-" if value is None else "%.1f s" % value


def render(report):
    """The report as text for people: a summary, then one fixed-width table per subject."""
    lines = []
    span = report["range"]
    if span["first"] is None:
        lines.append("qmail logs: no dated line read")
    else:
        lines.append("qmail logs from %s to %s" % (span["first_utc"] or span["first"], span["last_utc"] or span["last"]))
    window = report["window"]
    if window["since"] is not None or window["until"] is not None:
        lines.append("window: since %s until %s" % (window["since_utc"] or "the start", window["until_utc"] or "the end"))
    for source in report["sources"]:
        if source["missing"]:
            lines.append("missing: %s (no such directory)" % source["path"])
            continue
        read = [f for f in source["files"] if f["read"]]
        lines.append("read: %s (%d file%s, %d lines%s)"
                     % (source["path"], len(read), "" if len(read) == 1 else "s", sum(f["lines"] for f in read),
                        ", %d older files skipped" % (len(source["files"]) - len(read))
                        if len(read) < len(source["files"]) else ""))
        lines.extend("error: %s" % error for error in source["errors"])
    counts = report["lines"]
    lines.append("lines: %d read, %d parsed, %d unparsed, %d outside the window"
                 % (counts["total"], counts["parsed"], counts["unparsed"], counts["skipped"]))
    lines.extend("  unparsed: %s" % sample for sample in counts["unparsed_samples"])
    lines.append("")
    messages = report["messages"]
    lines.extend(_table("messages", ["count", "bytes"], [
        ("received", [messages["received"], messages["bytes"]]),
        ("completed", [messages["completed"], ""]),
        ("still in the queue at the end", [messages["open"], ""]),
        ("bounces sent", [messages["bounces"], ""]),
        ("double bounces discarded", [messages["double_bounces_discarded"], ""]),
        ("triple bounces discarded", [messages["triple_bounces_discarded"], ""]),
    ]))
    lines.append("  time in the queue: average %s, longest %s"
                 % (_seconds(messages["average_seconds_in_queue"]), _seconds(messages["max_seconds_in_queue"])))
    lines.append("")
    deliveries = report["deliveries"]
    rows = [(channel, [counts[r] for r in RESULTS]) for channel, counts in sorted(deliveries["by_channel"].items())]
    rows.append(("total", [deliveries[r] for r in RESULTS]))
    lines.extend(_table("deliveries", RESULTS, rows))
    lines.append("  in progress at the end: %d" % deliveries["in_progress"])
    lines.append("")
    rows = [(channel, [peak["peak"], peak["limit"], peak["at_utc"]])
            for channel, peak in sorted(report["concurrency"].items())]
    rows.extend(("%s (tcpserver)" % name, [peak["peak"], peak["limit"], peak["at_utc"]])
                for name, peak in sorted((n, s["concurrency"]) for n, s in report["sessions"].items()))
    lines.extend(_table("concurrency", ["peak", "limit", "first reached"], rows, widths=[10, 10, 22]))
    lines.append("")
    sessions = report["sessions"]
    lines.extend(_table("sessions", ["accepted", "denied", "refused"],
                        [(name, [s["accepted"], s["denied"], s["refused"]]) for name, s in sorted(sessions.items())]))
    for name, service in sorted(sessions.items()):
        if service["refusal_reasons"]:
            lines.append("")
            lines.extend(_table("refusals by %s" % name, ["count"],
                                [(r["reason"], [r["count"]]) for r in service["refusal_reasons"]]))
    for key, title in (("top_senders", "top senders"), ("top_recipients", "top recipients")):
        lines.append("")
        lines.extend(_table(title, ["messages", "bytes"],
                            [(e["address"] or "<>", [e["messages"], e["bytes"]]) for e in report[key]]))
    for key, title in (("failure_reasons", "failure reasons"), ("deferral_reasons", "deferral reasons")):
        lines.append("")
        lines.extend(_table(title, ["count"], [(r["reason"], [r["count"]]) for r in report[key]]))
    lines.append("")
    lines.append("alerts: %d, warnings: %d" % (report["alerts"], report["warnings"]))
    return "\n".join(lines)
