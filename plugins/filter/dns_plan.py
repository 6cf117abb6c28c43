# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What playbooks/dns_records.yml gives the dns_records module, and how it prints the check.

dns_plan turns mailops_qmail_domains and what the playbook gathered from the inventory into the
module's `domains`, plus the problems the records cannot be made from; dns_status_lines writes the
module's checked records as one line each. The playbook only gathers host variables and calls
these, so tests/unit/plugins/filter/test_dns_plan.py can state the rules. Whether a record's
contents are valid is the module's judgement (module_utils/dns_records.py), not this file's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# One trailing dot, as the playbook's regex_replace('[.]$', '') took it off: a name written
# absolute finds the same host as one written relative.
_TRAILING_DOT = re.compile(r"[.]$")


def _name_key(value):
    return _TRAILING_DOT.sub("", str(value).lower())


def _unique(items):
    """Items in their first order, each once. Strings compare without case, as the playbook's
    `unique` filter compared them (2001:DB8::1 and 2001:db8::1 are one address); items may be
    mappings, which cannot be hashed."""
    result = []
    seen = []
    for item in items:
        key = item.lower() if isinstance(item, str) else item
        if key not in seen:
            seen.append(key)
            result.append(item)
    return result


def _list_or_fail(value, field, what):
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("%s must be a list of %s, got %r" % (field, what, value))
    return list(value)


def _inventory_names(hosts):
    """{MX name: inventory host}: each host by its qmail_me (by default its FQDN), then by its
    inventory name, which wins when another host greets with that name."""
    names = {}
    for host, facts in hosts.items():
        me = facts.get("qmail_me")
        if me is None:
            me = facts.get("fqdn")
        if me:
            names[_name_key(me)] = host
    names.update((host.lower(), host) for host in hosts)
    return names


def _published_keys(hosts, play_hosts):
    """(the play hosts' DKIM keys, each once, as {domain, selector, public_key}; the problems of
    selectors that have two different keys, since DNS holds one record per selector)."""
    found = []
    for host in play_hosts:
        for result in hosts.get(host, {}).get("dkim_keys") or []:
            # A key check mode would still have to make has no public key to publish.
            if isinstance(result.get("public_key"), str):
                found.append({"domain": result["domain"], "selector": result["selector"],
                              "public_key": result["public_key"]})
    keys = _unique(found)
    seen = []
    conflicts = []
    for key in keys:
        name = "%s._domainkey.%s" % (key["selector"], key["domain"])
        if name in seen:
            conflicts.append("dkim_domains: %s has different keys on the hosts of this play, and DNS holds one;"
                             " give each host its own selector, or copy one key to every host" % name)
        seen.append(name)
    return keys, _unique(conflicts)


def _host_addresses(host, facts):
    """The SPF addresses of one inventory host: its mailops_qmail_spf_addresses, else its default
    IPv4 and IPv6 addresses."""
    if facts.get("mailops_qmail_spf_addresses") is not None:
        return _list_or_fail(facts["mailops_qmail_spf_addresses"],
                             "mailops_qmail_spf_addresses of inventory host %s" % host, "addresses")
    return [address for address in (facts.get("default_ipv4"), facts.get("default_ipv6")) if address]


def _plan_mx(domain_mx, where, lookup, names, hosts, problems):
    """(the module's mx entries, the addresses of their hosts) of one domain; lookup=False when the
    domain gives its SPF addresses itself, so its MX hosts need none."""
    entries = []
    addresses = []
    for index, mx in enumerate(_list_or_fail(domain_mx, where + ".mx", "MX host names or {host, preference}")):
        entry = {"preference": 10 * (index + 1)}
        entry.update(mx if isinstance(mx, Mapping) else {"host": mx})
        entries.append(entry)
        if not lookup or "host" not in entry:
            continue
        host = names.get(_name_key(entry["host"]), "")
        if not host:
            problems.append("%s.mx[%d]: %s is no host of the inventory (by inventory name or qmail_me), so its addresses"
                            " are unknown; add it to the inventory, or give the addresses as %s.spf.addresses"
                            % (where, index, entry["host"], where))
            continue
        found = _host_addresses(host, hosts[host])
        if not found:
            problems.append("%s.mx[%d]: %s is inventory host %s, whose address is unknown (no default_ipv4 or"
                            " default_ipv6 fact: is it outside the play?); set mailops_qmail_spf_addresses for it,"
                            " or give %s.spf.addresses" % (where, index, entry["host"], host, where))
        addresses.extend(found)
    return entries, addresses


def dns_plan(domains, hosts, spf_include=(), play_hosts=None):
    """The dns_records module's `domains` made from mailops_qmail_domains, and the problems.

    domains: mailops_qmail_domains. hosts: {inventory host: {qmail_me, fqdn, default_ipv4,
    default_ipv6, mailops_qmail_spf_addresses, dkim_keys}}, every host of the inventory in its
    order; a variable the host does not define is None or left out, while an empty qmail_me or
    mailops_qmail_spf_addresses counts as set; dkim_keys is the `results` of the dkim_key check.
    spf_include: mailops_qmail_spf_include. play_hosts: the hosts whose DKIM keys are published,
    in this order (by default every host of `hosts`).

    Each domain gets MX preferences 10, 20, ... by position unless an entry gives one; SPF
    addresses (unless spf.addresses is given) from the hosts its MX names stand for, by inventory
    name or by qmail_me, lower case and without a trailing dot; spf.include followed by
    spf_include; its own dkim entries followed by the hosts' keys for its name.
    Returns {"domains": [...], "problems": [...]}, each problem naming the variable path.
    """
    domains = _list_or_fail(domains, "mailops_qmail_domains", "mail domains ({name, mx, spf, dkim, ...})")
    spf_include = _list_or_fail(spf_include, "mailops_qmail_spf_include", "domains")
    names = _inventory_names(hosts)
    keys, problems = _published_keys(hosts, list(hosts) if play_hosts is None else play_hosts)
    planned = []
    for index, domain in enumerate(domains):
        where = "mailops_qmail_domains[%d]" % index
        if not isinstance(domain, Mapping):
            raise AnsibleFilterError("%s must be a mapping with the domain's name, mx, spf, ..., got %r" % (where, domain))
        spf = domain.get("spf") or {}
        if not isinstance(spf, Mapping):
            raise AnsibleFilterError("%s.spf must be a mapping (addresses, include, ...), got %r" % (where, spf))
        mx, addresses = _plan_mx(domain.get("mx") or [], where, "addresses" not in spf, names, hosts, problems)
        name = _name_key(domain.get("name", ""))
        dkim = _list_or_fail(domain.get("dkim") or [], where + ".dkim", "{selector, public_key}")
        dkim.extend({"selector": key["selector"], "public_key": key["public_key"]}
                    for key in keys if key["domain"] == name)
        include = _list_or_fail(spf.get("include", []), where + ".spf.include", "domains")
        planned.append(dict(domain, mx=mx, spf=dict(
            spf, addresses=spf["addresses"] if "addresses" in spf else _unique(addresses),
            include=include + spf_include), dkim=dkim))
    return {"domains": planned, "problems": problems}


def dns_status_lines(records):
    """One line per record the dns_records module checked: STATUS NAME TYPE VALUE, and what DNS
    holds instead when the record is not present as it should be."""
    lines = []
    for record in records:
        try:
            found = record["found"]
            line = "%s %s %s %s" % (record["status"], record["name"], record["type"], record["value"])
        except (KeyError, TypeError):
            raise AnsibleFilterError("dns_status_lines: %r is no record of the dns_records module"
                                     " (status, name, type, value, found)" % (record,))
        if record["status"] != "present" and found:
            line += " (DNS has: %s)" % " | ".join(str(answer) for answer in found)
        lines.append(line)
    return lines


class FilterModule(object):
    """Filters of playbooks/dns_records.yml."""

    def filters(self):
        return {
            "dns_plan": dns_plan,
            "dns_status_lines": dns_status_lines,
        }
