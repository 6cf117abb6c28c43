#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dns_records
short_description: The DNS records a mail domain needs, as data and zone-file lines, optionally checked in DNS
version_added: 0.1.0
description:
  - Computes, for each mail domain, the records to publish - MX, SPF, one DKIM TXT per selector,
    DMARC, and optionally MTA-STS and TLS-RPT - and returns them as data and as master-file lines
    that paste into a BIND or nsd zone (absolute names, TXT values split into quoted
    character-strings of at most 255 octets, C(") and C(\) escaped).
  - Changes nothing, anywhere; C(changed) is always false.
  - With O(check=true) it asks DNS (the system resolver or O(nameserver)) and reports each record
    as C(present), C(missing), C(different) (with what was found) or C(error:) and the reason (a
    timeout or a server failure, per record). Texts compare as receivers read them - SPF term by term, DKIM and
    DMARC tag by tag with their defaults, MX as the set of (preference, host) of the name, names
    in any case.
  - Refuses, naming the option and the value, a domain that is not a host name, a DKIM selector that
    is not one DNS label, an RSA key under 2048 bits, a DMARC policy outside none, quarantine and
    reject, a report address that is not an address, and an SPF record with more than 10
    mechanisms that cost a DNS lookup.
author:
  - mailops.qmail developers (@mailops)
extends_documentation_fragment:
  - mailops.qmail.read_only
requirements:
  - dnspython on the host that runs the module, only with O(check=true) (Debian C(python3-dnspython)).
  - cryptography reads the DKIM public keys when it is installed; without it a small DER reader does.
options:
  domains:
    description: The mail domains and what each publishes.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The mail domain, such as C(example.com).
        type: str
        required: true
      mx:
        description: The domain's mail hosts.
        type: list
        elements: dict
        default: []
        suboptions:
          host:
            description: The mail host's name (an MX names a host, never an address).
            type: str
            required: true
          preference:
            description: The MX preference, 0..65535; lower is tried first.
            type: int
            default: 10
      spf:
        description:
          - The SPF record (C(v=spf1)) of the domain; omitted, none is published.
          - Terms are written in this order - O(domains[].spf.mechanisms), C(ip4:)/C(ip6:) for
            each address, C(include:) for each include, then O(domains[].spf.all).
        type: dict
        suboptions:
          addresses:
            description: The addresses (or networks) the domain's mail leaves from, IPv4 or IPv6.
            type: list
            elements: str
            default: []
          include:
            description: Domains whose SPF record authorises their senders too, such as a smarthost provider's.
            type: list
            elements: str
            default: []
          mechanisms:
            description:
              - Further mechanisms placed first, such as C(mx) or C(a:relay.example.com).
              - With the includes they may cost at most 10 DNS lookups together.
            type: list
            elements: str
            default: []
          all:
            description: C(-all) (fail) or C(~all) (softfail) for every other sender.
            type: str
            choices: ['-all', '~all']
            default: '-all'
      dkim:
        description: One TXT record C(SELECTOR._domainkey.DOMAIN) per selector.
        type: list
        elements: dict
        default: []
        suboptions:
          selector:
            description: The selector, one DNS label (letters, digits, C(-); no dot).
            type: str
            required: true
          public_key:
            description:
              - The public key, PEM (C(-----BEGIN PUBLIC KEY-----)) or base64 of its DER (or of the
                32 raw octets of an Ed25519 key); RSA of at least 2048 bits (C(k=rsa)) or Ed25519
                (C(k=ed25519)).
              - Never a private key - one is refused without being shown.
            type: str
            required: true
      dmarc:
        description: The DMARC record C(_dmarc.DOMAIN); omitted, none is published.
        type: dict
        suboptions:
          policy:
            description: What receivers do with mail that fails DMARC.
            type: str
            choices: [none, quarantine, reject]
            required: true
          subdomain_policy:
            description: C(sp=), the policy for subdomains; omitted, the same as O(domains[].dmarc.policy).
            type: str
            choices: [none, quarantine, reject]
          rua:
            description: Addresses for aggregate reports (C(user@example.com) or C(mailto:user@example.com)).
            type: list
            elements: str
            default: []
          ruf:
            description: Addresses for failure reports.
            type: list
            elements: str
            default: []
          pct:
            description: Percentage of failing mail the policy applies to, 0..100; omitted means 100.
            type: int
          adkim:
            description: DKIM alignment, C(r) relaxed or C(s) strict; omitted means relaxed.
            type: str
            choices: [r, s]
          aspf:
            description: SPF alignment, C(r) relaxed or C(s) strict; omitted means relaxed.
            type: str
            choices: [r, s]
      mta_sts:
        description:
          - MTA-STS (RFC 8461) - the TXT record C(_mta-sts.DOMAIN) and the policy text to serve at
            C(https://mta-sts.DOMAIN/.well-known/mta-sts.txt) (returned in RV(mta_sts_policy);
            serving it, and the C(mta-sts) host's address, are up to you).
        type: dict
        suboptions:
          mode:
            description: The policy mode.
            type: str
            choices: [enforce, testing, none]
            default: enforce
          mx:
            description: MX host patterns (C(*.example.com) allowed); omitted, the hosts of O(domains[].mx).
            type: list
            elements: str
            default: []
          max_age:
            description: Seconds senders cache the policy, 0..31557600.
            type: int
            default: 604800
          id:
            description:
              - The policy id, 1 to 32 letters and digits; omitted, derived from the policy text so
                it changes exactly when the policy does.
            type: str
      tls_rpt:
        description: The TLS-RPT record C(_smtp._tls.DOMAIN) (RFC 8460).
        type: dict
        suboptions:
          rua:
            description: Where reports go, addresses (C(mailto:) added when missing) or C(https://) URLs.
            type: list
            elements: str
            required: true
  ttl:
    description: The TTL of every record, in seconds.
    type: int
    default: 3600
  check:
    description: Ask DNS for each record and report its status; needs dnspython.
    type: bool
    default: false
  nameserver:
    description:
      - With O(check=true), ask only this DNS server (an IP address or a resolvable name), such as a
        test server on the scenario's network; omitted, the system resolver.
    type: str
  port:
    description: The port of O(nameserver).
    type: int
    default: 53
  timeout:
    description: Seconds to wait for each answer with O(check=true).
    type: float
    default: 5.0
seealso:
  - name: RFC 7208 (SPF)
    link: https://www.rfc-editor.org/rfc/rfc7208
    description: Section 4.6.4 limits an SPF record to 10 DNS lookups.
  - name: RFC 7489 (DMARC)
    link: https://www.rfc-editor.org/rfc/rfc7489
    description: The tags of the DMARC record and their defaults.
"""

EXAMPLES = r"""
- name: Compute the records of example.com
  mailops.qmail.dns_records:
    domains:
      - name: example.com
        mx:
          - host: mx1.example.com
            preference: 10
        spf:
          addresses: [192.0.2.25, "2001:db8::25"]
          include: [_spf.provider.example]
          all: "~all"
        dkim:
          - selector: s2026
            public_key: "{{ lookup('ansible.builtin.file', 'dkim/example.com/s2026.pub') }}"
        dmarc:
          policy: quarantine
          rua: [dmarc-reports@example.com]
        mta_sts:
          mode: testing
        tls_rpt:
          rua: [tls-reports@example.com]
  register: dns

- name: Print the zone-file lines to paste
  ansible.builtin.debug:
    msg: "{{ dns.zone.splitlines() }}"

- name: Check them against a test DNS server
  mailops.qmail.dns_records:
    domains: "{{ mail_domains }}"
    check: true
    nameserver: 10.89.0.53
  register: published
  failed_when: not published.all_present
"""

RETURN = r"""
records:
  description: One entry per record, in zone order.
  returned: always
  type: list
  elements: dict
  contains:
    domain:
      description: The mail domain the record belongs to.
      type: str
    name:
      description: The absolute owner name, lower case, with the trailing dot.
      type: str
      sample: _dmarc.example.com.
    type:
      description: C(MX) or C(TXT).
      type: str
    kind:
      description: C(mx), C(spf), C(dkim), C(dmarc), C(mta_sts) or C(tls_rpt).
      type: str
    ttl:
      description: The TTL.
      type: int
    value:
      description: C(PREFERENCE HOST.) for MX; the whole text for TXT, before it is split into character-strings.
      type: str
      sample: v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com
    status:
      description: C(present), C(missing), C(different), or C(error:) followed by the reason.
      type: str
      returned: with O(check=true)
    found:
      description: What DNS holds for this record's name and kind (the MX set, or the TXT records of this kind).
      type: list
      elements: str
      returned: with O(check=true)
zone:
  description: The records as master-file lines, one per record, for a BIND or nsd zone.
  returned: always
  type: str
  sample: |
    example.com. 3600 IN MX 10 mx1.example.com.
    _dmarc.example.com. 3600 IN TXT "v=DMARC1; p=quarantine"
mta_sts_policy:
  description: Per domain with O(domains[].mta_sts), the text to serve at C(https://mta-sts.DOMAIN/.well-known/mta-sts.txt).
  returned: always
  type: dict
  sample: {example.com: "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n"}
all_present:
  description: Whether every record is C(present).
  returned: with O(check=true)
  type: bool
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mailops.qmail.plugins.module_utils import dns_records as core
from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError


def main():
    module = QmailModule(
        argument_spec=dict(
            domains=dict(type="list", elements="dict", required=True, options=core.DOMAIN_OPTIONS),
            ttl=dict(type="int", default=3600),
            check=dict(type="bool", default=False),
            nameserver=dict(type="str"),
            port=dict(type="int", default=53),
            timeout=dict(type="float", default=5.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        records, policies = core.all_records(params["domains"], params["ttl"])
        result = dict(changed=False, records=records, zone=core.zone_text(records), mta_sts_policy=policies)
        if params["check"]:
            if not core.HAS_DNSPYTHON:
                module.fail_json(msg=missing_required_lib("dnspython (Debian: python3-dnspython)"), **result)
            result["records"] = checked(params, records)
            result["all_present"] = all(record["status"] == "present" for record in result["records"])
    except ValidationError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


def checked(params, records):
    """The records with their status in DNS; raises ValidationError for a bad server setting."""
    nameserver = params["nameserver"]
    if nameserver is not None:
        nameserver = core.nameserver_address(nameserver)
    validate.port(params["port"], "port")
    if not 0 < params["timeout"] <= 300:
        raise ValidationError("timeout: %r is outside 0 (excluded)..300 seconds" % params["timeout"])
    answers = core.ask_dns(core.queries(records), nameserver, params["port"], params["timeout"])
    return core.compare(records, answers)


if __name__ == "__main__":
    main()
