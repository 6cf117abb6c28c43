#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: smtproutes
short_description: Manage qmail's smtproutes, with outbound SMTP AUTH credentials
version_added: 0.1.0
description:
  - Writes C(control/smtproutes) from a list of routes, in the syntax of the installed qmail
    flavour, atomically (temporary file in the same directory, owner, group and mode set, then
    renamed).
  - C(classic) (notqmail, netqmail) has no credentials; C(base64) (the Gentoo patch set) puts the
    user name and password base64-encoded after the route; C(space) (John Simpson's combined patch,
    qmail-remote-auth) puts them in plain text separated by spaces; C(pipe) (sagredo) writes
    C(domain:relay:port|user|password).
  - Credentials in a syntax that cannot carry them are an error, never silently dropped.
  - User names and passwords never appear in the results, the diff or an error, whichever syntax
    the existing file was written in - the diff masks every field after C(domain:relay[:port]) on
    every line. A file holding credentials is always mode 0640, group C(qmail) by default, because
    qmail-remote reads it as C(qmailr) in group C(qmail).
  - Validates host names and IPv4 literals, ports 1..65535, duplicate domains and characters that
    would break the line format; an error names the route and leaves the file untouched.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Decides the change without writing; reports C(changed) as a real run would.
    support: full
  diff_mode:
    description: Whole-file diff with headers, user names and passwords masked.
    support: full
  idempotent:
    description: A second run with the same routes changes nothing.
    support: full
options:
  path:
    description: The smtproutes file.
    type: path
    default: /var/qmail/control/smtproutes
  routes:
    description: The routes, in the order they are written.
    type: list
    elements: dict
    default: []
    suboptions:
      domain:
        description:
          - The recipient domain; C(.example.com) matches every subdomain; empty or omitted is
            the default route (a line starting with C(:)).
        type: str
        default: ''
      relay:
        description:
          - The host to send to, an IPv4 address or an IPv4 literal such as C([192.0.2.1]);
            empty means the MX records of the domain.
        type: str
        default: ''
      port:
        description: The relay's port, 1..65535.
        type: int
      username:
        description:
          - User name for SMTP AUTH at the relay (needs O(routes[].password)); like the password,
            never shown in results or diffs.
        type: str
      password:
        description: Password for SMTP AUTH at the relay; never shown in results or diffs.
        type: str
  syntax:
    description:
      - The smtproutes syntax. Mutually exclusive with O(flavour).
    type: str
    choices: [classic, base64, space, pipe]
  flavour:
    description:
      - The qmail flavour, which implies the syntax (C(gentoo)=C(base64), C(sagredo)=C(pipe),
        C(jms)=C(space), C(notqmail)=C(classic)). Mutually exclusive with O(syntax).
      - When neither is given, C(notqmail).
    type: str
    choices: [gentoo, sagredo, jms, notqmail]
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description:
      - Group of the file. Defaults to C(qmail) when the file holds credentials, C(root) otherwise.
    type: str
  mode:
    description:
      - Mode of the file. Defaults to C(0644) without credentials; with credentials the mode is
        always C(0640) (a different value is overridden with a warning).
    type: raw
  state:
    description: C(absent) removes the file (O(routes) is then ignored).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: mailops.qmail.control
"""

EXAMPLES = r"""
- name: Send all mail through the provider's relay with SMTP AUTH (Gentoo patch set)
  mailops.qmail.smtproutes:
    flavour: gentoo
    routes:
      - relay: smtp.provider.example
        port: 587
        username: "{{ relay_user }}"
        password: "{{ relay_password }}"

- name: Route one domain to an internal host, everything else by MX
  mailops.qmail.smtproutes:
    routes:
      - domain: internal.example.com
        relay: '[192.0.2.25]'
"""

RETURN = r"""
routes:
  description: The routes as written, user names and passwords replaced by C(********).
  returned: always
  type: list
  elements: dict
  sample: [{domain: '', relay: smtp.provider.example, port: 587, username: '********', password: '********'}]
syntax:
  description: The syntax the file was written in.
  returned: always
  type: str
  sample: base64
"""

from ansible_collections.mailops.qmail.plugins.module_utils import _io, flavours
from ansible_collections.mailops.qmail.plugins.module_utils import smtproutes as core
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule


def main():
    module = QmailModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/qmail/control/smtproutes"),
            routes=dict(type="list", elements="dict", default=[], options=dict(
                domain=dict(type="str", default=""),
                relay=dict(type="str", default=""),
                port=dict(type="int"),
                username=dict(type="str", no_log=True),
                password=dict(type="str", no_log=True),
            )),
            syntax=dict(type="str", choices=list(core.SYNTAXES)),
            flavour=dict(type="str", choices=list(flavours.FLAVOURS)),
            owner=dict(type="str", default="root"),
            group=dict(type="str"),
            mode=dict(type="raw"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[["syntax", "flavour"]],
        supports_check_mode=True,
    )
    try:
        result = converge(module)
    except (core.RoutesError, _io.FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


def converge(module):
    """The module's result; raises RoutesError or FileWriteError, having changed nothing."""
    params = module.params
    path = params["path"]
    syntax = core.syntax_for(params["syntax"], params["flavour"])
    routes = core.normalize(params["routes"] if params["state"] == "present" else [], syntax)
    current = _io.read_bytes(path)
    before = None if current is None else current.decode("utf-8", "replace")
    result = dict(changed=False, routes=core.masked_routes(routes), syntax=syntax)

    if params["state"] == "absent":
        result["changed"] = current is not None
        if module._diff and result["changed"]:
            result["diff"] = _io.text_diff(path, core.mask_text(before), None)
        if result["changed"] and not module.check_mode:
            _io.remove(path)
        return result

    secret = core.has_credentials(routes)
    owner = params["owner"]
    group = params["group"] or ("qmail" if secret else "root")
    mode = _io.parse_mode(params["mode"])
    if secret:
        if mode is not None and mode != core.CREDENTIAL_MODE:
            module.warn("mode: %s overridden by 0640 because %s holds credentials"
                        % (params["mode"], path))
        mode = core.CREDENTIAL_MODE
    elif mode is None:
        mode = 0o644
    text = core.render(routes, syntax)
    content = text.encode("utf-8")
    result["changed"] = current != content or _io.attributes_differ(path, owner, group, mode)
    if module._diff and result["changed"]:
        masked_before = core.mask_text(before)
        masked_after = core.mask_text(text)
        diff = _io.text_diff(path, masked_before, masked_after)
        if current != content and masked_before == masked_after:
            diff["after_header"] = "%s (credentials changed)" % path
        result["diff"] = diff
    if result["changed"] and not module.check_mode:
        _io.write_atomic(path, content, owner, group, mode)
    return result


if __name__ == "__main__":
    main()
