# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The queue of the MTA qmail replaces, read so each message can be handed to qmail with its envelope.

Flushing the old queue lets the old MTA deliver (or bounce: Debian's default exim4 refuses remote
domains) and, for local mail, deliver where qmail would not look. Handing every message to
qmail-inject with its envelope (sender, undelivered recipients) keeps both decisions qmail's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# exim -bp: "AGE SIZE ID <SENDER>[ *** frozen ***]", then one indented line per recipient,
# 'D ' in front of the ones already delivered, and a blank line.
_EXIM_HEAD = re.compile(r"\A\s*\S+\s+\S+\s+(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})\s+"
                        r"<(?P<sender>[^>]*)>(?P<frozen>\s+\*\*\* frozen \*\*\*)?\s*\Z")
_EXIM_RCPT = re.compile(r"\A\s+(?P<done>D\s+)?(?P<address>\S+)\s*\Z")

# The commands that read and remove one message, per MTA: {id} is the queue id.
COMMANDS = {
    "exim4": {"list": ["exim4", "-bp"], "show": ["exim4", "-Mvc", "{id}"], "remove": ["exim4", "-Mrm", "{id}"]},
    "postfix": {"list": ["postqueue", "-j"], "show": ["postcat", "-bh", "-q", "{id}"],
                "remove": ["postsuper", "-d", "{id}"]},
}


class QueueError(ValueError):
    """The old MTA's queue listing could not be read."""


def parse_exim_bp(text):
    """Messages of `exim -bp`: [{id, sender, recipients (undelivered), frozen}]."""
    messages = []
    current = None
    for line in text.splitlines():
        if not line.strip():
            current = None
            continue
        head = _EXIM_HEAD.match(line)
        if head:
            current = {"id": head.group("id"), "sender": head.group("sender"), "recipients": [],
                       "frozen": bool(head.group("frozen")), "held": False}
            messages.append(current)
            continue
        rcpt = _EXIM_RCPT.match(line)
        if current is None or not rcpt:
            raise QueueError("unexpected line in the exim4 -bp listing: %r" % line)
        if not rcpt.group("done"):
            current["recipients"].append(rcpt.group("address"))
    return messages


def parse_postqueue_json(text):
    """Messages of `postqueue -j` (one JSON object a line); held mail is marked and left alone."""
    messages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            messages.append({"id": entry["queue_id"], "sender": entry.get("sender", ""),
                             "recipients": [r["address"] for r in entry.get("recipients", [])],
                             "frozen": False, "held": entry.get("queue_name") == "hold"})
        except (ValueError, KeyError, TypeError) as exc:
            raise QueueError("unexpected line in the postqueue -j listing: %r (%s)" % (line, exc))
    return messages


PARSERS = {"exim4": parse_exim_bp, "postfix": parse_postqueue_json}


def inject_argv(qmail_inject, message):
    """qmail-inject's argv for one message: its envelope sender (empty for a bounce) and recipients.

    The sender is a word of its own: glued to -f, an empty one would make getopt take "-a" as it.
    """
    return [qmail_inject, "-f", message["sender"], "-a", "--"] + list(message["recipients"])


def command(mta, verb, message_id=None):
    return [word.replace("{id}", message_id or "") for word in COMMANDS[mta][verb]]
