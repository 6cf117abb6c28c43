#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mta_queue
short_description: Hand the mail queued in the old MTA to qmail, each message with its envelope
version_added: 0.2.0
description:
  - Lists the queue of exim4 or postfix, and hands each message to C(qmail-inject) with its envelope
    sender and the recipients not yet delivered, then removes it from the old queue. qmail then
    delivers it as it delivers everything else (remote domains by qmail-remote, local users to
    their maildirs); nothing is bounced by the move itself.
  - Run it once the old MTA no longer accepts mail (its daemon stopped), so the queue cannot grow while it is read.
  - postfix's held mail (C(postsuper -h)) is left where it is and reported, since somebody held it on purpose.
  - A message qmail-inject refuses stays in the old queue and is reported; nothing is removed before
    qmail has taken it.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Lists the queue and reports what would move, without moving anything.
    support: full
  diff_mode:
    description: Message contents are not shown.
    support: none
  idempotent:
    description: Once the queue is empty nothing more moves.
    support: full
options:
  mta:
    description: The MTA whose queue is moved.
    type: str
    choices: [exim4, postfix]
    required: true
  qmail_inject:
    description: qmail's qmail-inject.
    type: path
    default: /var/qmail/bin/qmail-inject
"""

EXAMPLES = r"""
- name: Hand exim4's queued mail to qmail
  mailops.qmail.mta_queue:
    mta: exim4
"""

RETURN = r"""
found:
  description: Messages in the old queue.
  returned: always
  type: int
  sample: 25
moved:
  description: Messages handed to qmail and removed from the old queue.
  returned: always
  type: int
  sample: 25
left:
  description: Messages left in the old queue, each with why (held, refused by qmail-inject, no recipient left).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "1abcDE-000123-AB", "reason": "held in postfix's hold queue"}]
"""

from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils import mta_queue


def main():
    module = QmailModule(
        argument_spec=dict(
            mta=dict(type="str", choices=sorted(mta_queue.COMMANDS), required=True),
            qmail_inject=dict(type="path", default="/var/qmail/bin/qmail-inject"),
        ),
        supports_check_mode=True,
    )
    mta = module.params["mta"]
    rc, out, err = module.run_command(mta_queue.command(mta, "list"))
    if rc != 0:
        module.fail_json(msg="listing the %s queue failed (%s): %s" % (mta, rc, err.strip()))
    try:
        messages = mta_queue.PARSERS[mta](out)
    except mta_queue.QueueError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=False, found=len(messages), moved=0, left=[])
    movable = []
    for message in messages:
        if message["held"]:
            result["left"].append({"id": message["id"], "reason": "held in postfix's hold queue"})
        elif not message["recipients"]:
            result["left"].append({"id": message["id"], "reason": "no undelivered recipient"})
        else:
            movable.append(message)
    if module.check_mode:
        result["changed"] = bool(movable)
        result["moved"] = len(movable)
        module.exit_json(**result)
    for message in movable:
        rc, content, _err = module.run_command(mta_queue.command(mta, "show", message["id"]),
                                               binary_data=True, encoding=None)
        if rc != 0:
            result["left"].append({"id": message["id"], "reason": "could not be read (%s)" % rc})
            continue
        rc, _out, _err = module.run_command(mta_queue.inject_argv(module.params["qmail_inject"], message),
                                            data=content, binary_data=True, encoding=None)
        if rc != 0:
            result["left"].append({"id": message["id"], "reason": "qmail-inject refused it (exit %s)" % rc})
            continue
        result["changed"] = True
        rc, _out, _err = module.run_command(mta_queue.command(mta, "remove", message["id"]))
        if rc != 0:
            # qmail has it: a second copy is the lesser harm, but say so.
            result["left"].append({"id": message["id"], "reason": "handed to qmail but not removed from %s's "
                                   "queue (%s); remove it by hand" % (mta, rc)})
            continue
        result["moved"] += 1
    module.exit_json(**result)


if __name__ == "__main__":
    main()
