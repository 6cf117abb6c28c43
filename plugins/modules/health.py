#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: health
short_description: Report the health of a qmail host
version_added: 0.1.0
description:
  - Reads, without changing anything, which supervised services are up or down (and why a down
    service is down), which TCP ports listen, the subject and expiry of the STARTTLS certificate,
    whether qmail binaries are installed, and whether unknown local recipients are refused at RCPT
    (sagredo's control/validrcptto) or accepted and bounced later (backscatter possible).
  - When qmail binaries are missing, the report says how to supply them. A missing C(svstat) or
    C(openssl) is reported (services in state C(unknown), a certificate C(error)), not a failure.
author:
  - mailops.qmail developers (@mailops)
extends_documentation_fragment:
  - mailops.qmail.read_only
options:
  scan_dir:
    description: The daemontools scan directory (C(/etc/service) on Debian, C(/service) on Gentoo).
    type: path
    default: /etc/service
  qmail_home:
    description: Where qmail is installed.
    type: path
    default: /var/qmail
  certificate:
    description: The certificate to report on; defaults to C(control/servercert.pem) under O(qmail_home).
    type: path
"""

EXAMPLES = r"""
- name: Read the health of the mail server
  mailops.qmail.health:
    scan_dir: /etc/service
  register: health

- name: Show it
  ansible.builtin.debug:
    msg: "{{ health.text.splitlines() }}"
"""

RETURN = r"""
report:
  description: The structured report.
  returned: always
  type: dict
  contains:
    qmail:
      description: C(binaries_present), C(missing) binaries and, when missing, C(supply_hints).
      type: dict
    services:
      description: One entry per service with C(name), C(path), C(state) (up, down, unknown), C(seconds) and C(reason).
      type: list
      elements: dict
    listening_ports:
      description: TCP ports in LISTEN state.
      type: list
      elements: int
    certificate:
      description: C(path), C(subject) and C(not_after) of the certificate, or null when there is none.
      type: dict
text:
  description: The report as text, one line per fact.
  returned: always
  type: str
  sample: "qmail binaries: present under /var/qmail"
"""

import os

from ansible_collections.mailops.qmail.plugins.module_utils import _io, health
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule


def main():
    module = QmailModule(
        argument_spec=dict(
            scan_dir=dict(type="path", default="/etc/service"),
            qmail_home=dict(type="path", default="/var/qmail"),
            certificate=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    certificate = params["certificate"] or os.path.join(params["qmail_home"], "control", "servercert.pem")
    try:
        health.check_paths(scan_dir=params["scan_dir"], qmail_home=params["qmail_home"])
        health.check_paths(certificate=certificate)
    except _io.FileWriteError as exc:
        module.fail_json(msg=str(exc))

    def run(argv):
        # A missing svstat or openssl is a fact to report, not a reason for the module to fail.
        program = module.get_bin_path(argv[0], opt_dirs=["/usr/bin", "/command", "/usr/local/bin"])
        if program is None:
            return 127, "", "%s is not installed" % argv[0]
        return module.run_command([program] + argv[1:])

    report = health.collect(params["scan_dir"], params["qmail_home"], certificate, run)
    module.exit_json(changed=False, report=report, text=health.render(report))


if __name__ == "__main__":
    main()
