#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight
short_description: Refuse a play's qmail settings before any role writes anything
version_added: 0.2.0
description:
  - Judges, on the controller, the variables of the collection's roles as those roles would see
    them (their defaults under the play's variables), and fails naming each refused variable.
    It reads nothing from the host and writes nothing, so a refused run leaves every file as it
    was, in check mode too.
  - 'It refuses: control/rcpthosts absent (an open relay) or empty (no mail received) when qmail-smtpd
    runs; tcprules, environment, program chains or a password checker that let anyone relay; two
    services on one port; a C(send_admin_address) or C(send_delivery_custom) line that qmail-local
    would read as another instruction (a program, a file); a maildir name that is not one file name;
    SMTP AUTH without accounts; submission without SMTP AUTH.'
  - The roles it checks are those named in O(roles) and the collection's roles the play applies
    with C(roles:). C(mailops.qmail.site) runs it first with every role it will apply; the roles
    run it themselves for their own settings, which costs nothing when the play's preflight has
    already checked them.
  - This is an action plugin; it runs on the controller only.
author:
  - mailops.qmail developers (@mailops)
extends_documentation_fragment:
  - mailops.qmail.read_only
options:
  roles:
    description:
      - Short names of the collection's roles to check (C(send), C(smtpd), C(smtp_auth), C(pop3d), ...),
        besides those the play applies with C(roles:).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
# In a play of your own, before the roles write anything:
- name: Mail server
  hosts: mail
  pre_tasks:
    - name: Refuse settings that would break or open the mail server
      mailops.qmail.preflight:
        roles: [mta_swap, send, smtp_auth, smtpd]
  roles:
    - mailops.qmail.mta_swap
    - mailops.qmail.send
    - mailops.qmail.smtp_auth
    - mailops.qmail.smtpd
"""

RETURN = r"""
roles:
  description: The roles whose variables were judged.
  returned: always
  type: list
  elements: str
  sample: [send, smtpd]
problems:
  description: Every reason to refuse, each naming the variable; empty when the settings are accepted.
  returned: when checked
  type: list
  elements: str
  sample: ["pop3d_port: port 25 is already smtpd_port; two services cannot listen on one port"]
"""
