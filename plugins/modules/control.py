#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: control
short_description: Manage many qmail control files in one task
version_added: 0.1.0
description:
  - Writes, checks and removes files in qmail's control directory (C(/var/qmail/control)) in one
    task, each written atomically (temporary file in the same directory, owner, group and mode set,
    then renamed).
  - Validates what it knows before anything is written, host and domain names, integers and their
    ranges (concurrency limits 1..255, or 1..65000 with the big-concurrency patch), C(virtualdomains)
    syntax, and regular expressions in the files the flavour reads as regular expressions. A value
    that fails leaves every file untouched and the error names the file (or the variable given in
    O(variables)), the value and what would be accepted.
  - Writes a value only if qmail reads back exactly that value. Integers are plain decimal numbers
    from 0 to 2147483647 (qmail reads them into a C int), written without leading zeros; a string
    such as C('1_000'), C('+5'), C(' 5') or one with non-ASCII digits is refused, since qmail reads
    only leading ASCII digits. One-line files and list entries must not end in spaces or tabs (qmail
    strips them); list entries must not be empty or start with C(#) (qmail skips them as comments).
  - Control file names the module does not know are written as given, with a warning.
  - Reports for every file whether it changed and what a running qmail must do to take the change
    (O(files) in the results), so roles restart only what needs it.
  - After C(morercpthosts) changed, runs C(qmail-newmrh) to rebuild C(morercpthosts.cdb) when it
    exists, and warns when it cannot.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Decides every change without writing; reports C(changed) as a real run would.
    support: full
  diff_mode:
    description: One diff per changed file, whole text with headers.
    support: full
  idempotent:
    description: A second run with the same files changes nothing.
    support: full
options:
  control_dir:
    description: The control directory.
    type: path
    default: /var/qmail/control
  files:
    description:
      - Control file name (a plain name, no slash) to its value.
      - A string or an integer makes a one-line file; a list makes one entry per line; C(null)
        makes sure the file is absent. For list files (C(locals), C(rcpthosts)...) a single string
        counts as a one-entry list.
      - C(smtproutes) is refused here (use M(mailops.qmail.smtproutes)).
    type: dict
    required: true
  flavour:
    description:
      - The qmail flavour (patch set) the installed binaries were built with. It sets the
        concurrency limit, whether C(badmailfrom) and C(badmailto) are regular expressions, which
        patch-only files (C(badmailto), C(badrcptto), C(bouncemaxbytes)) exist, and whether
        qmail-send rereads C(concurrency*) on HUP.
    type: str
    choices: [gentoo, sagredo, jms, notqmail]
    default: notqmail
  prune:
    description:
      - Remove control files this module knows (see O(files)) that are present in O(control_dir)
        but not named in O(files).
      - Never touches unknown files, C(*.cdb), certificates, C(smtproutes) or C(conf-*).
    type: bool
    default: false
  owner:
    description: Owner of the files written.
    type: str
    default: root
  group:
    description: Group of the files written.
    type: str
    default: root
  mode:
    description: Mode of the files written, as an octal string.
    type: raw
    default: '0644'
  newmrh:
    description: The C(qmail-newmrh) program, run after C(morercpthosts) changed.
    type: path
    default: /var/qmail/bin/qmail-newmrh
  variables:
    description:
      - Control file name to the name of the variable its value came from, for example
        C(databytes) to C(smtpd_databytes).
      - Error messages name that variable instead of C(files.NAME), so a role's user reads the name
        they wrote. Files not listed here are named C(files.NAME).
    type: dict
notes:
  - C(qmail-newmrh) writes C(morercpthosts.cdb) in the control directory it was compiled with;
    with a non-default O(control_dir) the module warns instead of running it.
  - When C(morercpthosts) becomes absent, C(morercpthosts.cdb) is removed as well, since
    qmail-smtpd would keep reading it.
seealso:
  - module: mailops.qmail.smtproutes
  - module: mailops.qmail.tcprules
"""

EXAMPLES = r"""
- name: Configure qmail's identity, domains and limits
  mailops.qmail.control:
    flavour: gentoo
    files:
      me: mail.example.com
      defaultdomain: example.com
      locals: [example.com, mail.example.com]
      rcpthosts: [example.com, .example.com]
      concurrencyremote: 120
      databytes: 20000000
      badmailfrom: ['@spam\.example$']
      bouncemaxbytes: null
  register: qmail_control

- name: Write control files from role variables, naming those variables in errors
  mailops.qmail.control:
    files:
      databytes: "{{ smtpd_databytes }}"
      me: "{{ qmail_me }}"
    variables:
      databytes: smtpd_databytes
      me: qmail_me

- name: Tell qmail-send to reread locals and virtualdomains
  ansible.builtin.command: svc -h /service/qmail-send
  changed_when: true
  when: "'hup-send' in qmail_control.effects"
"""

RETURN = r"""
files:
  description: Per file name, whether it changed, its state and what a running qmail must do.
  returned: always
  type: dict
  sample:
    locals: {changed: true, state: present, effect: hup-send}
    databytes: {changed: false, state: present, effect: none}
changed_files:
  description: Names of the files that changed (written, re-permissioned or removed).
  returned: always
  type: list
  elements: str
  sample: [locals]
effects:
  description:
    - Sorted unique effects of the changed files, without C(none).
    - C(hup-send) (SIGHUP qmail-send), C(restart-send), C(restart-smtpd), C(newmrh) (rebuild
      morercpthosts.cdb; done by the module when qmail-newmrh exists).
  returned: always
  type: list
  elements: str
  sample: [hup-send]
newmrh_ran:
  description: Whether qmail-newmrh was run.
  returned: always
  type: bool
"""

import os

from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule

from ansible_collections.mailops.qmail.plugins.module_utils import _io, flavours
from ansible_collections.mailops.qmail.plugins.module_utils import control as core

DEFAULT_CONTROL_DIR = "/var/qmail/control"


def _decide(entries, owner, group, mode):
    """Current content and the change each entry needs (no writes)."""
    for entry in entries:
        current = _io.read_bytes(entry["path"])
        entry["before"] = current
        if entry["content"] is None:
            entry["changed"] = current is not None or os.path.lexists(entry["path"])
        else:
            entry["changed"] = (current != entry["content"]
                                or _io.attributes_differ(entry["path"], owner, group, mode))
    return entries


def _text(data):
    return None if data is None else data.decode("utf-8", "replace")


def main():
    module = QmailModule(
        argument_spec=dict(
            control_dir=dict(type="path", default=DEFAULT_CONTROL_DIR),
            files=dict(type="dict", required=True),
            flavour=dict(type="str", default=flavours.DEFAULT_FLAVOUR, choices=list(flavours.FLAVOURS)),
            prune=dict(type="bool", default=False),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="raw", default="0644"),
            newmrh=dict(type="path", default="/var/qmail/bin/qmail-newmrh"),
            variables=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    control_dir = params["control_dir"]
    owner, group, mode = params["owner"], params["group"], params["mode"]
    try:
        _io.parse_mode(mode)
        entries, warnings = core.plan(control_dir, params["files"], params["flavour"], params["prune"],
                                      variables=params["variables"])
        _decide(entries, owner, group, mode)
    except (core.ControlError, _io.FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    if not os.path.isdir(control_dir) and any(e["changed"] for e in entries):
        if not module.check_mode:
            module.fail_json(msg="control_dir: %s does not exist (is qmail installed?)" % control_dir)
        module.warn("control_dir: %s does not exist yet" % control_dir)

    changed = [entry for entry in entries if entry["changed"]]
    newmrh_ran = False
    if not module.check_mode:
        try:
            for entry in changed:
                if entry["content"] is None:
                    _io.remove(entry["path"])
                    if entry["name"] == "morercpthosts":
                        _io.remove(entry["path"] + ".cdb")
                else:
                    _io.write_atomic(entry["path"], entry["content"], owner, group, mode)
        except (_io.FileWriteError, OSError) as exc:
            module.fail_json(msg=str(exc), changed_files=[e["name"] for e in changed])
        mrh = [e for e in changed if e["name"] == "morercpthosts" and e["content"] is not None]
        if mrh:
            if os.path.normpath(control_dir) != DEFAULT_CONTROL_DIR:
                module.warn("morercpthosts changed in %s, but qmail-newmrh only rebuilds "
                            "/var/qmail/control/morercpthosts.cdb: rebuild it yourself" % control_dir)
            elif not os.access(params["newmrh"], os.X_OK):
                module.warn("morercpthosts changed, but %s is not there to rebuild "
                            "morercpthosts.cdb: qmail-smtpd keeps the old list until it runs"
                            % params["newmrh"])
            else:
                rc, out, err = module.run_command([params["newmrh"]])
                if rc != 0:
                    module.fail_json(msg="%s failed (rc %d): %s" % (params["newmrh"], rc, err or out),
                                     changed_files=[e["name"] for e in changed])
                newmrh_ran = True

    result = dict(
        changed=bool(changed),
        files=dict((e["name"], dict(changed=e["changed"],
                                    state="absent" if e["content"] is None else "present",
                                    effect=e["effect"])) for e in entries),
        changed_files=[e["name"] for e in changed],
        effects=sorted(set(e["effect"] for e in changed) - set(["none"])),
        newmrh_ran=newmrh_ran,
    )
    if module._diff:
        result["diff"] = [_io.text_diff(e["path"], _text(e["before"]), _text(e["content"]))
                          for e in changed]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
