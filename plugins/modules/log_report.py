#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: log_report
short_description: Report what qmail logged (deliveries, messages, senders, sessions, refusals)
version_added: 0.4.0
description:
  - Reads, without changing anything, the multilog directories of qmail-send and of the services
    under tcpserver (rotated C(@<tai64n>.s) and C(.u) files in the order multilog wrote them, then
    C(current)), and reports what qmailanalog and qlogtools report. Messages and bytes in;
    deliveries that succeeded, failed or were deferred, per channel, each matched to its message
    and recipient as qmailanalog's C(matchup) does; top senders and recipients; the most frequent
    failure and deferral reasons; sessions accepted and denied by tcpserver, and what C(rblsmtpd) and
    qmail-smtpd refused, with reasons; concurrency peaks of qmail-send's channels and of each
    tcpserver.
  - Times come from multilog's tai64n labels and are shown as C(tai64nlocal) shows them in UTC.
    Lines without a label (multilog without C(t)) are read too when no window is given.
  - qmail-smtpd refusals are read from sagredo's C(qlogenvelope)/C(qlogreceived) lines, or, for
    trees without them, from the qregex (C(badmailfrom), C(badhelo), C(badrcptto)), validrcptto,
    rcptcheck and chkuser warnings. Plain netqmail's qmail-smtpd logs no refusals.
  - A line nothing here understands is counted as unparsed (the first few are shown), never an
    error. A missing log directory is reported in C(report.missing), not a failure.
author:
  - mailops.qmail developers (@mailops)
extends_documentation_fragment:
  - mailops.qmail.read_only
options:
  log_dirs:
    description:
      - multilog directories to read, one per service. The name of each directory is the service's
        name in C(report.sessions).
      - The default is where the collection's roles log qmail-send, qmail-smtpd and qmail-pop3d;
        add C(/var/log/qmail/qmail-smtpd-submission), C(/var/log/qmail/qmail-pop3ds),
        C(/var/log/qmail/qmail-qmtpd) where those services are enabled.
    type: list
    elements: path
    default: [/var/log/qmail/qmail-send, /var/log/qmail/qmail-smtpd, /var/log/qmail/qmail-pop3d]
  since:
    description:
      - Read only lines logged at or after this time. Epoch seconds (C(1796193533)), a duration
        before now (C(30m), C(24h), C(7d), C(2w), C(1d12h)) or a UTC date (C(2026-12-01),
        C(2026-12-01T06:00:00Z)).
      - With O(since) or O(until), lines without a tai64n label are skipped (their time is unknown).
      - Rotated files that multilog closed before O(since) are not opened.
    type: raw
  until:
    description: Read only lines logged before this time; the same forms as O(since).
    type: raw
  top:
    description: How many senders, recipients and reasons the top lists hold.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Report the last day of mail
  mailops.qmail.log_report:
    since: 24h
  register: mail_report

- name: Show it
  ansible.builtin.debug:
    msg: "{{ mail_report.text.splitlines() }}"

- name: Alert when more than 5% of remote deliveries failed
  ansible.builtin.assert:
    that: >-
      mail_report.report.deliveries.by_channel.remote.failure
      <= 0.05 * (mail_report.report.deliveries.by_channel.remote.success
                 + mail_report.report.deliveries.by_channel.remote.failure)
"""

RETURN = r"""
report:
  description: The structured report, for monitoring (JSON).
  returned: always
  type: dict
  contains:
    window:
      description: C(since) and C(until) as epoch seconds (null when not given), and as UTC text.
      type: dict
    range:
      description: C(first) and C(last) time of the dated lines read within the window, and as UTC text.
      type: dict
    sources:
      description: One entry per log directory with C(path), C(service), C(missing), C(files)
        (C(name), C(lines), C(read)) and C(errors).
      type: list
      elements: dict
    missing:
      description: Log directories that do not exist.
      type: list
      elements: str
    lines:
      description: C(total) lines read, of which C(parsed), C(unparsed) and C(skipped) (outside the
        window); C(undated) lines had no tai64n label; C(unparsed_samples) shows the first few.
      type: dict
    messages:
      description: C(received) (qmail-send's C(new msg)), C(bytes) in, C(completed), C(open) at the
        end, C(bounces) sent, C(double_bounces_discarded), C(triple_bounces_discarded),
        C(average_seconds_in_queue) and C(max_seconds_in_queue).
      type: dict
    deliveries:
      description: C(success), C(failure) and C(deferral) in all, C(by_channel) (C(local), C(remote),
        other channels, and C(unknown) for deliveries started before the log or the window), and
        C(in_progress) at the end.
      type: dict
    failure_reasons:
      description: The most frequent failure texts, each with C(reason) and C(count).
      type: list
      elements: dict
    deferral_reasons:
      description: The most frequent deferral texts, each with C(reason) and C(count).
      type: list
      elements: dict
    top_senders:
      description: Envelope senders by messages, each with C(address) (empty for the null sender),
        C(messages) and C(bytes).
      type: list
      elements: dict
    top_recipients:
      description: Recipients by messages (each message counted once however often it was tried),
        each with C(address), C(messages) and C(bytes).
      type: list
      elements: dict
    concurrency:
      description: Per qmail-send channel, the C(peak) of deliveries at once, the C(limit) and when
        the peak was first reached (C(at), C(at_utc)).
      type: dict
    sessions:
      description: Per service that logged tcpserver or qmail-smtpd lines, C(accepted) and C(denied)
        connections (tcpserver's rules), C(ended), C(refused) with C(refusal_reasons),
        C(smtp_messages_accepted) (sagredo's qlogreceived) and tcpserver's C(concurrency).
      type: dict
    alerts:
      description: C(alert:) lines of qmail-send and fatal errors of tcpserver.
      type: int
    warnings:
      description: C(warning:) lines.
      type: int
text:
  description: The report as fixed-width tables, for people.
  returned: always
  type: str
  sample: "qmail logs from 2026-12-01T06:00:00Z to 2026-12-02T06:00:00Z"
"""

import time

from ansible_collections.mailops.qmail.plugins.module_utils import qmail_log
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError, integer

DEFAULT_LOG_DIRS = ["/var/log/qmail/qmail-send", "/var/log/qmail/qmail-smtpd", "/var/log/qmail/qmail-pop3d"]
# More entries than a person reads; a monitoring system asks for what it charts.
TOP_MAX = 10000


def main():
    module = QmailModule(
        argument_spec=dict(
            log_dirs=dict(type="list", elements="path", default=DEFAULT_LOG_DIRS),
            since=dict(type="raw"),
            until=dict(type="raw"),
            top=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    params = module.params
    now = time.time()
    try:
        top = integer(params["top"], "top", minimum=0, maximum=TOP_MAX)
        since = qmail_log.parse_when(params["since"], "since", now)
        until = qmail_log.parse_when(params["until"], "until", now)
        report = qmail_log.collect(params["log_dirs"], since=since, until=until, top=top)
    except ValidationError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, report=report, text=qmail_log.render(report))


if __name__ == "__main__":
    main()
