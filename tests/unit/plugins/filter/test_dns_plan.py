# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What playbooks/dns_records.yml hands the dns_records module: MX hosts found in the inventory,
their addresses in SPF, the hosts' DKIM keys, and the problems it refuses, each naming its variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.qmail.plugins.filter import dns_plan as plugin
from ansible_collections.mailops.qmail.plugins.filter.dns_plan import dns_plan, dns_status_lines


def host(ipv4=None, ipv6=None, fqdn=None, **variables):
    """One inventory host as the playbook gathers it: None for what the host does not define."""
    facts = {"qmail_me": None, "fqdn": fqdn, "default_ipv4": ipv4, "default_ipv6": ipv6,
             "mailops_qmail_spf_addresses": None, "dkim_keys": None}
    facts.update(variables)
    return facts


def key(domain, selector, public_key):
    """A result of the playbook's dkim_key check-mode loop."""
    return {"changed": False, "path": "/var/qmail/control/dkim/%s/%s.private" % (domain, selector),
            "domain": domain, "selector": selector, "public_key": public_key,
            "txt_name": "%s._domainkey.%s" % (selector, domain), "item": {"domain": domain, "selector": selector}}


def plan_of(mx, hosts, **domain):
    """The one planned domain and the problems, for a domain example.com with these MX entries."""
    result = dns_plan([dict({"name": "example.com", "mx": mx}, **domain)], hosts)
    [planned] = result["domains"]
    return planned, result["problems"]


def unknown_host(where, index, name):
    return ("%s.mx[%d]: %s is no host of the inventory (by inventory name or qmail_me), so its addresses are unknown;"
            " add it to the inventory, or give the addresses as %s.spf.addresses" % (where, index, name, where))


def no_address(where, index, name, inventory_host):
    return ("%s.mx[%d]: %s is inventory host %s, whose address is unknown (no default_ipv4 or default_ipv6 fact:"
            " is it outside the play?); set mailops_qmail_spf_addresses for it, or give %s.spf.addresses"
            % (where, index, name, inventory_host, where))


def conflict(name):
    return ("dkim_domains: %s has different keys on the hosts of this play, and DNS holds one;"
            " give each host its own selector, or copy one key to every host" % name)


# --- which inventory host an MX name stands for --------------------------------------------------

def test_mx_by_inventory_name_publishes_its_default_addresses():
    planned, problems = plan_of(["mx1.example.com"], {"mx1.example.com": host("192.0.2.1", "2001:db8::1")})
    assert problems == []
    assert planned["mx"] == [{"preference": 10, "host": "mx1.example.com"}]
    assert planned["spf"] == {"addresses": ["192.0.2.1", "2001:db8::1"], "include": []}


def test_mx_by_qmail_me_when_the_inventory_calls_the_host_otherwise():
    hosts = {"web1": host("192.0.2.9"), "box7": host("192.0.2.7", qmail_me="Mail.Example.COM.")}
    planned, problems = plan_of(["mail.example.com"], hosts)
    assert problems == [] and planned["spf"]["addresses"] == ["192.0.2.7"]


def test_mx_by_fqdn_when_the_host_sets_no_qmail_me():
    hosts = {"box7": host("192.0.2.7", fqdn="mx.example.com"), "box8": host("192.0.2.8", fqdn="other.example.com")}
    planned, problems = plan_of(["MX.example.com."], hosts)
    assert problems == [] and planned["spf"]["addresses"] == ["192.0.2.7"]


@pytest.mark.parametrize("qmail_me", ["smtp.example.com", ""], ids=["other-name", "empty"])
def test_a_set_qmail_me_hides_the_fqdn(qmail_me):
    planned, problems = plan_of(["mx.example.com"], {"box7": host("192.0.2.7", fqdn="mx.example.com", qmail_me=qmail_me)})
    assert problems == [unknown_host("mailops_qmail_domains[0]", 0, "mx.example.com")]
    assert planned["spf"]["addresses"] == []


def test_an_inventory_name_wins_over_another_hosts_qmail_me():
    hosts = {"MX1": host("192.0.2.1"), "impostor": host("192.0.2.66", qmail_me="mx1")}
    planned, problems = plan_of(["mx1"], hosts)
    assert problems == [] and planned["spf"]["addresses"] == ["192.0.2.1"]


def test_of_two_hosts_with_one_qmail_me_the_later_one_counts():
    hosts = {"a": host("192.0.2.1", qmail_me="mx.example.com"), "b": host("192.0.2.2", qmail_me="mx.example.com")}
    assert plan_of(["mx.example.com"], hosts)[0]["spf"]["addresses"] == ["192.0.2.2"]


def test_an_mx_entry_as_a_mapping_is_found_like_a_name():
    planned, problems = plan_of([{"host": "MX1."}], {"mx1": host("192.0.2.1")})
    assert problems == [] and planned["spf"]["addresses"] == ["192.0.2.1"]


def test_an_mx_host_outside_the_inventory_is_a_problem_naming_the_entry():
    hosts = {"mx1": host("192.0.2.1")}
    result = dns_plan([{"name": "a.example", "mx": ["mx1"]},
                       {"name": "b.example", "mx": ["mx1", "backup.elsewhere.example"]}], hosts)
    assert result["problems"] == [unknown_host("mailops_qmail_domains[1]", 1, "backup.elsewhere.example")]
    # The entry stays, so the module still reports on every record.
    assert [entry["host"] for entry in result["domains"][1]["mx"]] == ["mx1", "backup.elsewhere.example"]
    assert result["domains"][1]["spf"]["addresses"] == ["192.0.2.1"]


def test_an_mx_host_without_an_address_is_a_problem_naming_the_host():
    planned, problems = plan_of(["mx1", "MX2.example."], {"mx1": host("192.0.2.1"), "mx2.example": host()})
    assert problems == [no_address("mailops_qmail_domains[0]", 1, "MX2.example.", "mx2.example")]
    assert planned["spf"]["addresses"] == ["192.0.2.1"]


def test_an_mx_entry_without_host_is_left_to_the_module():
    planned, problems = plan_of([{"preference": 5}], {})
    assert problems == [] and planned["mx"] == [{"preference": 5}]


# --- SPF addresses and includes ---------------------------------------------------------------

def test_the_hosts_spf_addresses_replace_its_facts():
    hosts = {"mx1": host("192.0.2.1", "2001:db8::1", mailops_qmail_spf_addresses=["198.51.100.0/24"])}
    assert plan_of(["mx1"], hosts)[0]["spf"]["addresses"] == ["198.51.100.0/24"]


def test_empty_spf_addresses_of_a_host_is_a_problem_even_with_facts():
    planned, problems = plan_of(["mx1"], {"mx1": host("192.0.2.1", mailops_qmail_spf_addresses=[])})
    assert problems == [no_address("mailops_qmail_domains[0]", 0, "mx1", "mx1")]
    assert planned["spf"]["addresses"] == []


def test_addresses_of_several_mx_hosts_appear_once_in_mx_order_whatever_their_case():
    hosts = {"mx1": host(mailops_qmail_spf_addresses=["192.0.2.1", "2001:DB8::1"]),
             "mx2": host("192.0.2.2", "2001:db8::1")}
    planned, problems = plan_of(["mx2", "mx1", "mx2"], hosts)
    assert problems == []
    assert planned["spf"]["addresses"] == ["192.0.2.2", "2001:db8::1", "192.0.2.1"]


@pytest.mark.parametrize("addresses", [["203.0.113.5"], [], None], ids=["list", "empty", "null"])
def test_spf_addresses_given_by_the_domain_are_kept_and_no_host_is_looked_up(addresses):
    spf = {"addresses": addresses, "all": "~all"}
    planned, problems = plan_of(["mx1", "nowhere.example"], {"mx1": host("192.0.2.1")}, spf=spf)
    assert problems == []
    assert planned["spf"] == {"addresses": addresses, "all": "~all", "include": []}


def test_includes_of_the_domain_come_before_mailops_qmail_spf_include():
    domains = [{"name": "a.example", "spf": {"include": ["_spf.a.example"]}}, {"name": "b.example"}]
    result = dns_plan(domains, {}, ["_spf.provider.example"])
    assert [domain["spf"]["include"] for domain in result["domains"]] == [
        ["_spf.a.example", "_spf.provider.example"], ["_spf.provider.example"]]


@pytest.mark.parametrize("spf", [None, {}], ids=["null", "empty"])
def test_every_domain_gets_an_spf_with_addresses_and_include(spf):
    planned, _problems = plan_of([], {}, spf=spf)
    assert planned["spf"] == {"addresses": [], "include": []}


# --- MX preferences ---------------------------------------------------------------------------

def test_preferences_follow_the_position_unless_given():
    mx = ["mx1", {"host": "mx9", "preference": 5}, {"host": "mx3"}, "mx4"]
    planned, _problems = plan_of(mx, {}, spf={"addresses": []})
    assert [(entry["host"], entry["preference"]) for entry in planned["mx"]] == [
        ("mx1", 10), ("mx9", 5), ("mx3", 30), ("mx4", 40)]


def test_a_given_null_preference_is_left_to_the_module():
    planned, _problems = plan_of([{"host": "mx1", "preference": None}], {}, spf={"addresses": []})
    assert planned["mx"] == [{"host": "mx1", "preference": None}]


@pytest.mark.parametrize("mx", [None, [], ""], ids=["null", "empty", "empty-string"])
def test_a_domain_without_mx_gets_an_empty_list(mx):
    planned, problems = plan_of(mx, {})
    assert planned["mx"] == [] and problems == []


# --- DKIM ---------------------------------------------------------------------------------------

def test_the_hosts_keys_follow_the_domains_own_dkim_entries():
    hosts = {"mx1": host("192.0.2.1", dkim_keys=[key("example.com", "s1", "KEY1"), key("other.example", "s1", "KEY2")])}
    planned, problems = plan_of(["mx1"], hosts, dkim=[{"selector": "old", "public_key": "KEY0"}])
    assert problems == []
    assert planned["dkim"] == [{"selector": "old", "public_key": "KEY0"}, {"selector": "s1", "public_key": "KEY1"}]


def test_a_domain_written_with_capitals_and_a_trailing_dot_gets_its_keys():
    hosts = {"mx1": host("192.0.2.1", dkim_keys=[key("example.com", "s1", "KEY1")])}
    result = dns_plan([{"name": "Example.COM.", "mx": ["mx1"]}], hosts)
    # The name stays as written: the module makes it absolute.
    assert result["domains"][0]["name"] == "Example.COM."
    assert result["domains"][0]["dkim"] == [{"selector": "s1", "public_key": "KEY1"}]


def test_one_key_on_two_hosts_is_published_once():
    hosts = {"mx1": host("192.0.2.1", dkim_keys=[key("example.com", "s1", "KEY1")]),
             "mx2": host("192.0.2.2", dkim_keys=[key("example.com", "s1", "KEY1")])}
    planned, problems = plan_of(["mx1", "mx2"], hosts)
    assert problems == [] and planned["dkim"] == [{"selector": "s1", "public_key": "KEY1"}]


def test_one_selector_with_different_keys_is_one_problem_listed_first():
    hosts = {"mx1": host("192.0.2.1", dkim_keys=[key("example.com", "s1", "KEY1")]),
             "mx2": host("192.0.2.2", dkim_keys=[key("example.com", "s1", "KEY2")]),
             "mx3": host("192.0.2.3", dkim_keys=[key("example.com", "s1", "KEY3"), key("example.com", "s2", "KEY4")])}
    planned, problems = plan_of(["mx1", "nowhere"], hosts)
    assert problems == [conflict("s1._domainkey.example.com"), unknown_host("mailops_qmail_domains[0]", 1, "nowhere")]
    assert [entry["public_key"] for entry in planned["dkim"]] == ["KEY1", "KEY2", "KEY3", "KEY4"]


def test_a_key_check_mode_would_still_make_is_not_published():
    hosts = {"mx1": host("192.0.2.1", dkim_keys=[key("example.com", "s1", None), {"skipped": True}])}
    planned, problems = plan_of(["mx1"], hosts)
    assert problems == [] and planned["dkim"] == []


def test_only_the_play_hosts_keys_are_published_in_play_order():
    hosts = {"a": host(dkim_keys=[key("example.com", "sa", "KEYA")]),
             "b": host(dkim_keys=[key("example.com", "sb", "KEYB")]),
             "c": host(dkim_keys=[key("example.com", "sc", "KEYC")])}
    result = dns_plan([{"name": "example.com"}], hosts, [], ["c", "a"])
    assert [entry["selector"] for entry in result["domains"][0]["dkim"]] == ["sc", "sa"]


# --- what stays as given ----------------------------------------------------------------------

def test_the_domains_other_settings_pass_through_and_the_input_is_not_changed():
    domains = [{"name": "example.com", "mx": ["mx1", {"host": "mx2"}], "dmarc": {"policy": "none"},
                "spf": {"all": "~all", "mechanisms": ["a"]}, "dkim": [{"selector": "s0", "public_key": "K"}]}]
    hosts = {"mx1": host("192.0.2.1", dkim_keys=[key("example.com", "s1", "KEY1")]), "mx2": host("192.0.2.2")}
    before = copy.deepcopy(domains), copy.deepcopy(hosts)
    [planned] = dns_plan(domains, hosts, ["x.example"])["domains"]
    assert (domains, hosts) == before
    assert planned["dmarc"] == {"policy": "none"}
    assert planned["spf"] == {"all": "~all", "mechanisms": ["a"], "addresses": ["192.0.2.1", "192.0.2.2"],
                              "include": ["x.example"]}
    assert list(planned) == ["name", "mx", "dmarc", "spf", "dkim"]


# --- malformed input: an error naming the variable, never a traceback ---------------------------

@pytest.mark.parametrize("domains, spf_include, hosts, expected", [
    ({"name": "example.com"}, [], {}, "mailops_qmail_domains must be a list"),
    (None, [], {}, "mailops_qmail_domains must be a list"),
    ("example.com", [], {}, "mailops_qmail_domains must be a list"),
    ([{"name": "a.example"}, "b.example"], [], {}, "mailops_qmail_domains[1] must be a mapping"),
    ([{"name": "a.example", "mx": "mx1.a.example"}], [], {}, "mailops_qmail_domains[0].mx must be a list"),
    ([{"name": "a.example", "mx": {"host": "mx1"}}], [], {}, "mailops_qmail_domains[0].mx must be a list"),
    ([{"name": "a.example", "spf": "v=spf1 -all"}], [], {}, "mailops_qmail_domains[0].spf must be a mapping"),
    ([{"name": "a.example", "spf": {"include": "_spf.x"}}], [], {}, "mailops_qmail_domains[0].spf.include must be a list"),
    ([{"name": "a.example", "spf": {"include": None}}], [], {}, "mailops_qmail_domains[0].spf.include must be a list"),
    ([{"name": "a.example", "dkim": {"selector": "s1"}}], [], {}, "mailops_qmail_domains[0].dkim must be a list"),
    ([], "_spf.x", {}, "mailops_qmail_spf_include must be a list"),
    ([{"name": "a.example", "mx": ["mx1"]}], [], {"mx1": host(mailops_qmail_spf_addresses="192.0.2.1")},
     "mailops_qmail_spf_addresses of inventory host mx1 must be a list"),
], ids=["domains-mapping", "domains-null", "domains-string", "entry-string", "mx-string", "mx-mapping",
        "spf-string", "include-string", "include-null", "dkim-mapping", "spf-include-string", "host-addresses-string"])
def test_malformed_input_is_an_error_naming_the_variable(domains, spf_include, hosts, expected):
    with pytest.raises(AnsibleFilterError) as error:
        dns_plan(domains, hosts, spf_include)
    assert str(error.value).startswith(expected)


# --- the check's report -------------------------------------------------------------------------

def record(status, found, rtype="TXT", name="example.com.", value='"v=spf1 -all"'):
    return {"name": name, "type": rtype, "value": value, "status": status, "found": found, "domain": "example.com"}


def test_status_lines_show_what_dns_has_only_where_it_differs():
    records = [record("present", ['"v=spf1 -all"']),
               record("different", ['"v=spf1 ~all"', '"v=spf1 a -all"']),
               record("missing", []),
               record("error: timeout", [], "MX", value="10 mx1.example.com.")]
    assert dns_status_lines(records) == [
        'present example.com. TXT "v=spf1 -all"',
        'different example.com. TXT "v=spf1 -all" (DNS has: "v=spf1 ~all" | "v=spf1 a -all")',
        'missing example.com. TXT "v=spf1 -all"',
        "error: timeout example.com. MX 10 mx1.example.com.",
    ]


@pytest.mark.parametrize("bad", [{"name": "example.com.", "status": "present"}, "present example.com."],
                         ids=["missing-keys", "string"])
def test_status_lines_refuse_what_is_no_record(bad):
    with pytest.raises(AnsibleFilterError, match="is no record of the dns_records module"):
        dns_status_lines([bad])


def test_the_playbook_reaches_both_filters_by_name():
    filters = plugin.FilterModule().filters()
    assert filters["dns_plan"] is dns_plan and filters["dns_status_lines"] is dns_status_lines


# --- property: every MX host's addresses, once each, in MX order --------------------------------

_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8).map(lambda label: "h" + label)
_ADDRESS = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)


@st.composite
def inventories(draw):
    """(hosts, the addresses each host publishes), every host named by its own inventory name,
    its addresses its own (none shared), some from facts and some from mailops_qmail_spf_addresses."""
    names = draw(st.lists(_LABEL.map(lambda label: label + ".example"), min_size=1, max_size=6, unique=True))
    pool = draw(st.lists(_ADDRESS, min_size=2 * len(names), max_size=2 * len(names), unique=True))
    hosts, published = {}, {}
    for index, name in enumerate(names):
        first, second = pool[2 * index:2 * index + 2]
        if draw(st.booleans()):
            second = second if draw(st.booleans()) else None
            hosts[name] = host(first, second)
            published[name] = [address for address in (first, second) if address]
        else:
            # The facts' address must not leak in when the host names its own.
            hosts[name] = host("203.0.113.250", mailops_qmail_spf_addresses=[first, second])
            published[name] = [first, second]
    return hosts, published


@st.composite
def written_as_mx(draw, name):
    """The name as a user may write it in mx: any case, maybe absolute, maybe as a mapping."""
    capitals = draw(st.integers(0, 2 ** len(name) - 1))
    text = "".join(char.upper() if capitals >> index & 1 else char for index, char in enumerate(name))
    text += draw(st.sampled_from(["", "."]))
    return draw(st.sampled_from([text, {"host": text}]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_mx_hosts_addresses_appear_once_in_mx_order(data):
    hosts, published = data.draw(inventories())
    chosen = data.draw(st.lists(st.sampled_from(sorted(hosts)), min_size=1, max_size=8))
    mx = [data.draw(written_as_mx(name)) for name in chosen]
    result = dns_plan([{"name": "example.com", "mx": mx}], hosts)
    assert result["problems"] == []
    addresses = result["domains"][0]["spf"]["addresses"]
    expected = []
    for name in chosen:
        expected.extend(address for address in published[name] if address not in expected)
    assert addresses == expected
    for name in set(chosen):
        for address in published[name]:
            assert addresses.count(address) == 1
    assert [entry["preference"] for entry in result["domains"][0]["mx"]] == [10 * (i + 1) for i in range(len(mx))]
