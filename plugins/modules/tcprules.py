#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tcprules
short_description: Manage a tcpserver rules file and its CDB without the tcprules binary
version_added: 0.1.0
description:
  - Writes a ucspi-tcp rules source file (such as C(/etc/tcp.smtp)) from a list of rules and
    compiles it into the CDB tcpserver reads (such as C(/etc/tcp.smtp.cdb)) in pure Python. No
    binary is needed on the target, and the CDB is byte-identical to what ucspi-tcp's C(tcprules)
    writes for the same source.
  - Both files are written atomically (temporary file in the same directory, owner, group and mode
    set, then renamed); tcpserver reads the CDB per connection, so no restart is needed.
  - Every rule is validated before anything is written; a bad rule fails the task naming the rule,
    the value and the reason, and leaves both files untouched.
  - Idempotence is judged on content, not file times. The source file carries the SHA-256 of the
    CDB compiled from it, so an unchanged rule set is recognised without compiling; a hand-edited
    or corrupt CDB does not match that fingerprint and is rebuilt.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Decides every change without writing; reports C(changed) as a real run would.
    support: full
  diff_mode:
    description: Whole-text diff of the source file; a summary (record count, SHA-256) for the CDB.
    support: full
  idempotent:
    description: A second run with the same rules changes nothing.
    support: full
options:
  path:
    description: The rules source file.
    type: path
    required: true
  cdb:
    description: The compiled rules. Default O(path) with C(.cdb) appended.
    type: path
  rules:
    description: The rules, in order; tcpserver uses the first that matches.
    type: list
    elements: dict
    required: true
    suboptions:
      match:
        description:
          - Which clients the rule is for, in tcprules' forms. C('') is the default rule (every
            client), C(=) every client whose address has a name, C(=host.example.com) a host name,
            C(=.example.com) every name under a domain, C(192.0.2.1) an address, C(192.0.2.) a
            prefix (ending in a dot), C(192.0.2.10-20) or C(10.1-3.) a range within one octet.
          - Quote prefixes in YAML (C('127.')); unquoted, C(127.) is a number.
          - A CIDR network such as C(192.0.2.0/25) is turned into the equivalent prefix or range.
          - Only forms tcpserver can match are accepted, since it compares text. Addresses are
            written with the ASCII digits 0-9, octets 0 to 255 without leading zeros. Names have no
            trailing dot, and are written in lower case, as djbdns reports a client's name.
          - IPv6 addresses and C(user@address) forms are refused.
        type: str
        default: ''
      action:
        description: Accept or refuse the connection.
        type: str
        choices: [allow, deny]
        default: allow
      env:
        description:
          - Environment variables tcpserver sets for the connection, such as C(RELAYCLIENT),
            C(SMTPAUTH), C(RBLSMTPD). An empty string sets the variable to the empty value.
          - Quoted with the first character among C("'/|%#^~!@+;) that the value does not contain.
        type: dict
        default: {}
      comment:
        description: A comment written above the rule in the source file.
        type: str
  owner:
    description: Owner of both files.
    type: str
    default: root
  group:
    description: Group of both files.
    type: str
    default: root
  mode:
    description: Mode of both files.
    type: raw
    default: '0644'
notes:
  - The source file starts with two comment lines, a "managed" notice and the CDB's fingerprint;
    tcprules ignores them, and running C(tcprules) on the file by hand writes the same CDB.
seealso:
  - module: mailops.qmail.control
"""

EXAMPLES = r"""
- name: Let local networks relay, require AUTH from the rest, block one range
  mailops.qmail.tcprules:
    path: /etc/tcp.smtp
    rules:
      - match: '127.'
        env: {RELAYCLIENT: ''}
      - match: 192.0.2.0/24
        comment: office
        env: {RELAYCLIENT: ''}
      - match: 198.51.100.10-20
        action: deny
      - match: ''
        env: {SMTPAUTH: '!', RBLSMTPD: ''}
  register: tcp_smtp
"""

RETURN = r"""
rules:
  description: Number of rules in the source file.
  returned: always
  type: int
  sample: 4
cdb_rebuilt:
  description: Whether the CDB was (or, in check mode, would be) written.
  returned: always
  type: bool
source_changed:
  description: Whether the source file was (or would be) written or re-permissioned.
  returned: always
  type: bool
cdb:
  description: The path of the CDB.
  returned: always
  type: str
  sample: /etc/tcp.smtp.cdb
"""

from ansible_collections.mailops.qmail.plugins.module_utils import _io
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils import tcprules as core
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


def main():
    module = QmailModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            cdb=dict(type="path"),
            rules=dict(type="list", elements="dict", required=True, options=dict(
                match=dict(type="str", default=""),
                action=dict(type="str", default="allow", choices=["allow", "deny"]),
                env=dict(type="dict", default={}),
                comment=dict(type="str"),
            )),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    cdb_path = params["cdb"] or path + ".cdb"
    owner, group, mode = params["owner"], params["group"], params["mode"]
    try:
        _io.parse_mode(mode)
        current_source = _io.read_bytes(path)
        current_cdb = _io.read_bytes(cdb_path)
        plan = core.plan(params["rules"], current_source, current_cdb)
        source_changed = plan["source_changed"] or _io.attributes_differ(path, owner, group, mode)
        cdb_changed = plan["cdb_changed"] or _io.attributes_differ(cdb_path, owner, group, mode)
    except (ValidationError, _io.FileWriteError) as exc:
        module.fail_json(msg=str(exc))

    result = dict(changed=source_changed or cdb_changed, rules=len(params["rules"]),
                  cdb_rebuilt=cdb_changed, source_changed=source_changed, cdb=cdb_path)
    if module._diff and result["changed"]:
        before = None if current_source is None else current_source.decode("utf-8", "replace")
        diffs = [_io.text_diff(path, before, plan["source"].decode("utf-8", "replace"))]
        if plan["cdb_changed"]:
            diffs.append(_io.text_diff(cdb_path, None if current_cdb is None else core.describe_cdb(current_cdb),
                                       core.describe_cdb(plan["cdb"])))
        result["diff"] = diffs
    if not module.check_mode:
        try:
            # The CDB first: it is what tcpserver reads; the source carries its fingerprint.
            if cdb_changed:
                _io.write_atomic(cdb_path, plan["cdb"], owner, group, mode)
            if source_changed:
                _io.write_atomic(path, plan["source"], owner, group, mode)
        except _io.FileWriteError as exc:
            module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
