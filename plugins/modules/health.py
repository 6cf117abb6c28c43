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
    service is down), which TCP ports listen and the mail service known by each port, the subject,
    issuer and expiry (with the days left) of the STARTTLS certificate, whether qmail binaries are
    installed, and whether unknown local recipients are refused at RCPT (sagredo's
    control/validrcptto) or accepted and bounced later (backscatter possible).
  - With O(dkim_key_dir), each DKIM key there - the mailops.qmail.dkim role's
    C(DKIM_KEY_DIR/DOMAIN/SELECTOR.private) - with its algorithm, mode, owner and the TXT record it
    needs; with O(dns_check=true) also whether DNS publishes that record.
  - With O(domains) (the structure of M(mailops.qmail.dns_records)), the records each domain needs;
    with O(dns_check=true) each one's status in DNS - C(present), C(missing), C(different), or
    C(error:) and the reason - compared as M(mailops.qmail.dns_records) compares them.
  - When qmail binaries are missing, the report says how to supply them. A missing C(svstat) or
    C(openssl) is reported (services in state C(unknown), a certificate C(error)), not a failure;
    so are an unreadable key, a missing dnspython and a DNS server that does not answer. Private
    keys are read (to derive the public key) and never returned.
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
  dkim_key_dir:
    description:
      - The DKIM key directory (the dkim role's C(dkim_key_dir), by default
        C(control/dkim) under O(qmail_home)); omitted, DKIM keys are not reported.
    type: path
  domains:
    description:
      - The mail domains, in the structure of the C(domains) option of M(mailops.qmail.dns_records)
        (name, mx, spf, dkim, dmarc, mta_sts, tls_rpt), refused as that module refuses them;
        omitted, DNS records are not reported.
    type: list
    elements: dict
  dns_check:
    description:
      - Ask DNS for the records of O(domains) and the TXT record of each key under O(dkim_key_dir);
        needs at least one of them.
    type: bool
    default: false
  nameserver:
    description:
      - With O(dns_check=true), ask only this DNS server (an IP address or a resolvable name);
        omitted, the system resolver. Refused without O(dns_check=true).
    type: str
  port:
    description: The port of O(nameserver).
    type: int
    default: 53
  timeout:
    description: Seconds to wait for each DNS answer with O(dns_check=true).
    type: float
    default: 5.0
requirements:
  - openssl on the host for the certificate; cryptography (Debian C(python3-cryptography)) for DKIM
    keys; dnspython (Debian C(python3-dnspython)) with O(dns_check=true). Without them the report
    says what it could not read.
seealso:
  - module: mailops.qmail.dns_records
"""

EXAMPLES = r"""
- name: Read the health of the mail server
  mailops.qmail.health:
    scan_dir: /etc/service
  register: health

- name: Show it
  ansible.builtin.debug:
    msg: "{{ health.text.splitlines() }}"

- name: Check DKIM keys and DNS records of a 2026 mail domain against its authoritative server
  mailops.qmail.health:
    dkim_key_dir: /var/qmail/control/dkim
    domains: "{{ mail_domains }}"
    dns_check: true
    nameserver: 192.0.2.53
  register: health
  failed_when: >-
    health.report.dns | rejectattr('status', 'eq', 'present') | list
    or health.report.certificate.days_left < 14
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
    listeners:
      description:
        - Each listening TCP socket (from C(/proc/net/tcp) and C(/proc/net/tcp6)) as C(port),
          C(address) and C(service) - C(smtpd) (25), C(submission) (587), C(smtps) (465), C(pop3)
          (110), C(pop3s) (995), C(imap) (143), C(imaps) (993), C(qmtp) (209), C(qmqp) (628),
          C(spamd) (783), or null for another port.
      type: list
      elements: dict
      sample: [{port: 25, address: 0.0.0.0, service: smtpd}]
    certificate:
      description:
        - C(path), C(subject), C(issuer) (as openssl prints them), C(subject_cn), C(issuer_cn),
          C(not_after) and C(days_left) (whole days, negative once expired) of the certificate;
          C(path) and C(error) when openssl cannot read it; null when there is none.
      type: dict
      sample: {path: /var/qmail/control/servercert.pem, subject: CN = mail.example.org,
               issuer: "C = US, O = Let's Encrypt, CN = R11", subject_cn: mail.example.org,
               issuer_cn: R11, not_after: Mar  2 08:00:00 2027 GMT, days_left: 89}
    dkim:
      description:
        - C(key_dir), C(error) (when it cannot be listed) and C(keys) - per key file C(domain),
          C(selector), C(path), C(algorithm) (rsa-sha256 or ed25519-sha256), C(bits), C(mode),
          C(owner), C(owner_only) (no group or other permission), C(txt) (the TXT record it needs),
          C(published) (with O(dns_check=true) - present, missing, different, or C(error:) and the
          reason), C(found) (the TXT records in DNS) and C(error) (why something is null).
      returned: with O(dkim_key_dir)
      type: dict
    dns:
      description:
        - The records of O(domains) as M(mailops.qmail.dns_records) returns them (C(domain),
          C(name), C(type), C(kind), C(value)) with C(status) (present, missing, different, or
          C(error:) and the reason; null without O(dns_check)) and C(found).
      returned: with O(domains)
      type: list
      elements: dict
text:
  description: The report as text, one line per fact.
  returned: always
  type: str
  sample: "qmail binaries: present under /var/qmail"
"""

import os

from ansible_collections.mailops.qmail.plugins.module_utils import _io, dns_records, health, validate
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


def main():
    module = QmailModule(
        argument_spec=dict(
            scan_dir=dict(type="path", default="/etc/service"),
            qmail_home=dict(type="path", default="/var/qmail"),
            certificate=dict(type="path"),
            dkim_key_dir=dict(type="path"),
            domains=dict(type="list", elements="dict"),
            dns_check=dict(type="bool", default=False),
            nameserver=dict(type="str"),
            port=dict(type="int", default=53),
            timeout=dict(type="float", default=5.0),
        ),
        required_if=[("dns_check", True, ("domains", "dkim_key_dir"), True)],
        supports_check_mode=True,
    )
    params = module.params
    certificate = params["certificate"] or os.path.join(params["qmail_home"], "control", "servercert.pem")
    records, ask = None, None
    try:
        health.check_paths(scan_dir=params["scan_dir"], qmail_home=params["qmail_home"])
        health.check_paths(certificate=certificate)
        if params["dkim_key_dir"] is not None:
            health.check_paths(dkim_key_dir=params["dkim_key_dir"])
        if params["domains"] is not None:
            records = health.domain_records(params["domains"])
        if params["dns_check"]:
            ask = dns_asker(params)
        elif params["nameserver"] is not None:
            raise ValidationError("nameserver: %r is asked only with dns_check: true; set it, or leave "
                                  "nameserver out" % params["nameserver"])
    except (_io.FileWriteError, ValidationError) as exc:
        module.fail_json(msg=str(exc))

    def run(argv):
        # A missing svstat or openssl is a fact to report, not a reason for the module to fail.
        program = module.get_bin_path(argv[0], opt_dirs=["/usr/bin", "/command", "/usr/local/bin"])
        if program is None:
            return 127, "", "%s is not installed" % argv[0]
        return module.run_command([program] + argv[1:])

    report = health.collect(params["scan_dir"], params["qmail_home"], certificate, run,
                            dkim_key_dir=params["dkim_key_dir"], records=records, ask=ask)
    module.exit_json(changed=False, report=report, text=health.render(report))


def dns_asker(params):
    """health.dns_asker() for the server options; ValidationError for a bad one."""
    nameserver = params["nameserver"]
    if nameserver is not None:
        nameserver = dns_records.nameserver_address(nameserver)
    validate.port(params["port"], "port")
    if not 0 < params["timeout"] <= 300:
        raise ValidationError("timeout: %r is outside 0 (excluded)..300 seconds" % params["timeout"])
    return health.dns_asker(nameserver, params["port"], params["timeout"])


if __name__ == "__main__":
    main()
