"""site.yml applies each host's services in the collection's order, whatever the other hosts get.

A looped include_role runs each role once for all the hosts that list it, in the order the first
host listed them: with mx1 on [tls, dkim, smtpd] and mx2 on [tls, smtp_auth, smtpd], mx2 got
smtpd before smtp_auth and failed without its AUTH settings (found by molecule/domain).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

SITE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "playbooks", "site.yml")


def site():
    with open(SITE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)[0]


def service_includes():
    return [task for task in site()["tasks"]
            if "ansible.builtin.include_role" in task and task.get("when", "").startswith("'")]


def test_no_role_is_included_by_a_loop():
    assert not [task["name"] for task in site()["tasks"] if "ansible.builtin.include_role" in task and "loop" in task]


def test_each_optional_role_has_its_own_include_in_the_documented_order():
    order = site()["vars"]["__mailops_qmail_optional_roles"]
    included = [task["ansible.builtin.include_role"]["name"].split(".")[-1] for task in service_includes()]
    assert included == order


def test_each_include_runs_only_for_the_hosts_that_list_the_service():
    for task in service_includes():
        role = task["ansible.builtin.include_role"]["name"].split(".")[-1]
        assert task["when"] == "'%s' in mailops_qmail_services | default(['smtpd'])" % role


def test_any_service_tag_includes_every_role_and_runs_only_its_own_tasks():
    # --tags smtpd must still include smtp_auth, whose facts (tagged always) smtpd reads.
    order = site()["vars"]["__mailops_qmail_optional_roles"]
    for task in service_includes():
        role = task["ansible.builtin.include_role"]["name"].split(".")[-1]
        assert task["tags"] == order
        assert task["ansible.builtin.include_role"]["apply"]["tags"] == [role]
