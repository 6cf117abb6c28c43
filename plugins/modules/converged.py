#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: converged
short_description: Record a host's converged state, or tell whether it still holds
version_added: 0.4.0
description:
  - The site playbook's fast path. After a complete run, O(state=record) stores the digest of the
    settings the run applied and a snapshot of what the roles manage. O(state=check) reads the same
    snapshot again and returns C(converged=true) only when the settings digest is the recorded one
    and nothing in the snapshot differs; otherwise it lists why.
  - 'The snapshot holds: every file, directory and link under O(spec.roots) (content sha256, mode,
    owner; a Maildir only down to its cur, new and tmp directories), the package database, the
    C(.qmail) files and Maildirs of users from C(spec.homes.min_uid) up, the state (up or down) of
    every service in O(spec.scan_dir) (recorded as the run meant it: down with a down file, else
    up; checked with svstat), whether each daemon of O(spec.daemons) runs (recorded as started,
    as the roles leave them; checked with the init system), and the time from which a certificate
    of O(spec.certificates) falls due for renewal.'
  - Normally called through the action of the same name, which computes O(settings) from the play's
    variables on the controller; see docs/speed.md.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: O(state=check) reads only; O(state=record) reports what it would write and writes nothing.
    support: full
  diff_mode:
    description: The record is bookkeeping; no diff is shown.
    support: none
  idempotent:
    description: Recording the same state twice changes nothing.
    support: full
options:
  state:
    description: C(check) compares the host with the record; C(record) writes the record.
    type: str
    choices: [check, record]
    default: check
  settings:
    description: The digest of the settings (from the action); compared with, or stored in, the record.
    type: str
    required: true
  path:
    description: The record file; its directory is made mode 0700, the file is written mode 0600.
    type: path
    default: /var/lib/mailops-qmail/converged.json
  spec:
    description:
      - What the snapshot holds, with O(state=record). O(state=check) reads what the record names.
    type: dict
    default: {}
    suboptions:
      roots:
        description: Absolute paths read recursively.
        type: list
        elements: path
        default: []
      exclude:
        description: Shell patterns (fnmatch) of full paths left out, such as the queue or logs.
        type: list
        elements: str
        default: []
      homes:
        description: C(min_uid), C(maildir) (the Maildir name) and C(users) (names below min_uid to include).
        type: dict
      scan_dir:
        description: The daemontools scan directory whose services' states are compared.
        type: path
      certificates:
        description: Certificates as C(path) and C(renew_days).
        type: list
        elements: dict
        default: []
      daemons:
        description: Services of the init system (systemd, OpenRC or sysvinit), such as C(dovecot).
        type: list
        elements: str
        default: []
"""

EXAMPLES = r"""
- name: End the play early when nothing changed since the last complete run
  mailops.qmail.converged:
    state: check
    settings: "{{ settings_digest }}"
  register: converged

- name: Record the state a complete run left
  mailops.qmail.converged:
    state: record
    settings: "{{ settings_digest }}"
    spec:
      roots: [/var/qmail/control]
"""

RETURN = r"""
converged:
  description: Whether the settings and the snapshot are those recorded (O(state=check)).
  returned: always
  type: bool
reasons:
  description: Why the host is not converged, at most ten and a count of the rest.
  returned: always
  type: list
  elements: str
  sample: ["/var/qmail/control/me changed"]
entries:
  description: How many paths the snapshot holds.
  returned: always
  type: int
"""

import os
import time

from ansible_collections.mailops.qmail.plugins.module_utils import _io, converged
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule


def main():
    module = QmailModule(
        argument_spec=dict(
            state=dict(type="str", choices=["check", "record"], default="check"),
            settings=dict(type="str", required=True),
            path=dict(type="path", default="/var/lib/mailops-qmail/converged.json"),
            spec=dict(type="dict", default={}, options=dict(
                roots=dict(type="list", elements="path", default=[]),
                exclude=dict(type="list", elements="str", default=[]),
                homes=dict(type="dict"),
                scan_dir=dict(type="path"),
                certificates=dict(type="list", elements="dict", default=[]),
                daemons=dict(type="list", elements="str", default=[]),
            )),
        ),
        supports_check_mode=True,
    )
    params = module.params
    spec = params["spec"]
    for root in spec["roots"]:
        if not os.path.isabs(root):
            module.fail_json(msg="spec.roots: %r is not an absolute path" % root)

    def run(argv):
        program = module.get_bin_path(argv[0], opt_dirs=["/usr/bin", "/command", "/usr/local/bin"])
        if program is None:
            return 127, "", "%s is not installed" % argv[0]
        return module.run_command([program] + argv[1:])

    try:
        old = _io.read_bytes(params["path"])
        recorded = converged.load(old)
        if params["state"] == "check":
            # The paths are those the complete run recorded: some come from variables the roles
            # set for the platform, unknown before they run.
            spec = (recorded or {}).get("spec") if isinstance(recorded, dict) else None
            if not isinstance(spec, dict):
                spec = {}
        current = converged.snapshot(spec, run, intended=params["state"] == "record")
    except (OSError, _io.FileWriteError) as exc:
        module.fail_json(msg="cannot read the host's state: %s" % exc)
    entries = len(current["files"])
    if params["state"] == "check":
        reasons = converged.differences(recorded, params["settings"], current, time.time())
        module.exit_json(changed=False, converged=not reasons, reasons=reasons, entries=entries)

    content = converged.record(params["settings"], spec, current)
    changed = content != old
    if changed and not module.check_mode:
        try:
            directory = os.path.dirname(params["path"])
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            _io.write_atomic(params["path"], content, owner="root", group="root", mode="0600")
        except (OSError, _io.FileWriteError) as exc:
            module.fail_json(msg="cannot write the record %s: %s" % (params["path"], exc))
    module.exit_json(changed=changed, converged=True, reasons=[], entries=entries)


if __name__ == "__main__":
    main()
