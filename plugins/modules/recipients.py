#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: recipients
short_description: Keep sagredo's control/validrcptto equal to the addresses qmail delivers locally
version_added: 0.2.0
description:
  - Lists every address of the local domains (control/locals) that qmail would deliver, read from the
    host as qmail reads it, so qmail-smtpd refuses unknown recipients at RCPT (553) instead of
    bouncing them later to a sender that may be forged (backscatter).
  - 'An address is valid when qmail-getpw accepts its user (a passwd entry with uid other than 0, no capital
    letters, a home directory owned by that uid) and the uid is at least O(min_uid), as C(user@domain) and
    C(user-EXT@domain) for each C(~user/.qmail-EXT); or when C(~alias/.qmail-NAME) exists, as C(NAME@domain).'
  - Each local domain then gets C(-@domain), which makes sagredo refuse the addresses not listed. When
    a C(.qmail-default) (in ~alias or a user's home) or users/assign makes the set of addresses
    open-ended, no domain gets C(-@domain), nothing is refused, and RV(open) says why.
  - Only sagredo's qmail-smtpd reads control/validrcptto. The list is read per connection, so no restart is needed.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Reads the host and reports the change it would make.
    support: full
  diff_mode:
    description: The whole file before and after.
    support: full
  idempotent:
    description: Writes only when the list differs.
    support: full
options:
  qmail_home:
    description: Where qmail is installed; ~alias is C(alias) under it unless the alias user's home says otherwise.
    type: path
    default: /var/qmail
  control_dir:
    description: qmail's control directory (control/locals is read there, validrcptto written there).
    type: path
    default: /var/qmail/control
  min_uid:
    description:
      - The lowest uid of the accounts listed. System accounts that own their home (a daemon user a package
        adds) would get mail in a directory that is no mailbox; list such an address in O(extra) or give it an
        alias instead.
    type: int
    default: 1000
  extra:
    description: More addresses to accept (C(user@domain)), such as addresses a program handles.
    type: list
    elements: str
    default: []
  state:
    description: C(absent) removes control/validrcptto, so every recipient is accepted again.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Refuse unknown local recipients at RCPT (sagredo)
  mailops.qmail.recipients:
    control_dir: /var/qmail/control
"""

RETURN = r"""
addresses:
  description: How many addresses the list accepts.
  returned: always
  type: int
  sample: 12
open:
  description: Why unknown addresses are not refused (empty when they are).
  returned: always
  type: list
  elements: str
  sample: ["~alias has a .qmail-default (every address is delivered)"]
path:
  description: The file written.
  returned: always
  type: str
  sample: /var/qmail/control/validrcptto
"""

import os
import pwd

from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule

from ansible_collections.mailops.qmail.plugins.module_utils import _io
from ansible_collections.mailops.qmail.plugins.module_utils import control as control_files
from ansible_collections.mailops.qmail.plugins.module_utils import recipients
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


def _listing(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _owner(path):
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def read_host(qmail_home, control_dir, min_uid):
    """What qmail reads: the local domains, the users qmail-getpw accepts and their .qmail files."""
    locals_ = control_files.read_list(_io.read_bytes(os.path.join(control_dir, "locals"))) or []
    users, user_files = [], {}
    alias_home = os.path.join(qmail_home, "alias")
    for entry in pwd.getpwall():
        if entry.pw_name == "alias":
            alias_home = entry.pw_dir
            continue
        if recipients.eligible_user(entry.pw_name, entry.pw_uid, _owner(entry.pw_dir), min_uid):
            users.append(entry.pw_name)
            user_files[entry.pw_name] = [name for name in _listing(entry.pw_dir) if name.startswith(".qmail-")]
    assign = _io.read_bytes(os.path.join(qmail_home, "users", "assign")) or b""
    in_use = any(line.strip() and line.strip() != b"." for line in assign.splitlines())
    return [domain.decode("utf-8", "replace") for domain in locals_], users, _listing(alias_home), user_files, in_use


def main():
    module = QmailModule(
        argument_spec=dict(
            qmail_home=dict(type="path", default="/var/qmail"),
            control_dir=dict(type="path", default="/var/qmail/control"),
            extra=dict(type="list", elements="str", default=[]),
            min_uid=dict(type="int", default=1000),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = os.path.join(params["control_dir"], "validrcptto")
    before = _io.read_bytes(path)
    result = dict(changed=False, path=path, addresses=0, open=[])
    try:
        if params["state"] == "absent":
            after = None
        else:
            domains, users, alias_files, user_files, assign = read_host(params["qmail_home"], params["control_dir"],
                                                                        params["min_uid"])
            lines, result["open"] = recipients.plan(domains, users, alias_files, user_files, assign, params["extra"])
            result["addresses"] = len([line for line in lines if not line.startswith("-@")])
            after = recipients.render(lines)
        result["changed"] = before != after or (
            after is not None and _io.attributes_differ(path, "root", "root", "0644"))
        if result["changed"] and not module.check_mode:
            if after is None:
                _io.remove(path)
            else:
                _io.write_atomic(path, after, "root", "root", "0644")
    except ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    except (_io.FileWriteError, OSError) as exc:
        module.fail_json(msg="%s: %s" % (path, exc), **result)
    if module._diff and before != after:
        result["diff"] = _io.text_diff(path, None if before is None else before.decode("utf-8", "replace"),
                                       None if after is None else after.decode("utf-8", "replace"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
