# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which content_filter settings the preflight refuses, judged on the variables alone, each naming its variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import flavours, qmail_filter
from ansible_collections.mailops.qmail.plugins.plugin_utils import content_filter
from ansible_collections.mailops.qmail.plugins.plugin_utils.preflight import Variables

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles")


def defaults():
    with open(os.path.join(ROLES, "content_filter", "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def variables(**given):
    values = dict(qmail_flavour="sagredo", smtpd_qmailqueue=None)
    values.update(given)
    return Variables(values.__getitem__)


def problems(**given):
    return content_filter.content_filter_problems(variables(**given))


def test_the_defaults_here_are_the_roles_defaults():
    roles = defaults()
    for name, default in list(content_filter.VARIABLES.values()) + [
            content_filter.ADDRESS, content_filter.PORT, content_filter.MAX_CHILDREN, content_filter.FRESHCLAM,
            content_filter.NETWORK_TESTS]:
        assert roles[name] == default, name
    assert sorted(roles) == sorted([name for name, dummy in content_filter.VARIABLES.values()] + [
        content_filter.ADDRESS[0], content_filter.PORT[0], content_filter.MAX_CHILDREN[0], content_filter.FRESHCLAM[0],
        content_filter.NETWORK_TESTS[0]])


@pytest.mark.parametrize("flavour", sorted(flavours.FLAVOURS))
def test_the_defaults_and_the_roles_defaults_are_accepted(flavour):
    assert problems(qmail_flavour=flavour) == []
    assert problems(qmail_flavour=flavour, **defaults()) == []


def test_settings_are_what_qmail_filter_reads_and_scores_are_the_users():
    found = content_filter.settings(variables(content_filter_tag_score="4.5", content_filter_spamd_port=10783,
                                              content_filter_clamav_enabled="yes"))
    policy = qmail_filter.parse_config(found)
    assert policy.spamd_address == ("tcp", "127.0.0.1", 10783)
    assert (policy.tag_score, policy.clamd_enabled) == (4.5, True)


@pytest.mark.parametrize("given, variable, hint", [
    ({"content_filter_tag_score": "five"}, "content_filter_tag_score", "'five' is not a number"),
    ({"content_filter_tag_score": "5,5"}, "content_filter_tag_score", "a point, not a comma"),
    ({"content_filter_reject_score": float("nan")}, "content_filter_reject_score", "not a finite number"),
    ({"content_filter_spam_action": "reject", "content_filter_tag_score": 6, "content_filter_reject_score": 4},
     "content_filter_reject_score", "below tag_score"),
    ({"content_filter_spam_action": "drop"}, "content_filter_spam_action", "not one of tag, reject"),
    ({"content_filter_virus_action": "quarantine"}, "content_filter_virus_action", "not one of reject, tag"),
    ({"content_filter_spamd_timeout": 0}, "content_filter_spamd_timeout", "from 1 to 3600"),
    ({"content_filter_clamd_timeout": 7200}, "content_filter_clamd_timeout", "from 1 to 3600"),
    ({"content_filter_spamd_max_bytes": 0}, "content_filter_spamd_max_bytes", "from 1 to"),
    ({"content_filter_clamd_max_bytes": "25M"}, "content_filter_clamd_max_bytes", "not a whole number"),
    ({"content_filter_fail_open": "sometimes"}, "content_filter_fail_open", "not a boolean"),
    ({"content_filter_clamav_enabled": "maybe"}, "content_filter_clamav_enabled", "not a boolean"),
    ({"content_filter_clamav_freshclam": "often"}, "content_filter_clamav_freshclam", "not a boolean"),
    ({"content_filter_spamd_address": "0.0.0.0"}, "content_filter_spamd_address", "not a loopback address"),
    ({"content_filter_spamd_address": "192.0.2.1"}, "content_filter_spamd_address", "not a loopback address"),
    ({"content_filter_spamd_address": "localhost"}, "content_filter_spamd_address", "not a loopback address"),
    ({"content_filter_spamd_address": "::"}, "content_filter_spamd_address", "not a loopback address"),
    ({"content_filter_spamd_port": 0}, "content_filter_spamd_port", "from 1 to 65535"),
    ({"content_filter_spamd_port": 65536}, "content_filter_spamd_port", "from 1 to 65535"),
    ({"content_filter_spamd_port": True}, "content_filter_spamd_port", "not a port"),
    ({"content_filter_spamd_max_children": 0}, "content_filter_spamd_max_children", "from 1 to"),
    ({"content_filter_spamd_max_children": "5"}, "content_filter_spamd_max_children", "whole number"),
    ({"smtpd_qmailqueue": "/usr/bin/qmail-scanner"}, "smtpd_qmailqueue", "qmail-smtpd runs only one"),
    ({"qmail_flavour": "netqmail-plain"}, "unknown qmail flavour", "choose one of"),
])
def test_refusals_name_the_variable_and_the_value(given, variable, hint):
    found = problems(**given)
    assert len(found) == 1, found
    assert found[0].startswith(variable) or variable in found[0]
    assert hint in found[0]


def test_a_flavour_without_qmailqueue_is_refused_by_name(monkeypatch):
    lacking = dict(flavours.FLAVOURS["notqmail"], qmailqueue=False)
    monkeypatch.setitem(flavours.FLAVOURS, "plain", lacking)
    found = problems(qmail_flavour="plain")
    assert len(found) == 1
    assert found[0].startswith("content_filter needs the QMAILQUEUE variable") and "'plain'" in found[0]


def test_reject_score_below_tag_score_is_fine_when_spam_is_only_tagged():
    assert problems(content_filter_tag_score=6, content_filter_reject_score=4) == []


@pytest.mark.parametrize("address, port, expected", [
    ("127.0.0.1", 783, "127.0.0.1:783"),
    ("127.0.0.53", "10783", "127.0.0.53:10783"),
    ("::1", 783, "[::1]:783"),
    ("0:0:0:0:0:0:0:1", 783, "[::1]:783"),
])
def test_spamd_address_is_written_as_qmail_filter_reads_it(address, port, expected):
    text = content_filter.spamd_address(variables(content_filter_spamd_address=address, content_filter_spamd_port=port))
    assert text == expected
    assert qmail_filter.parse_address("spamd_address", text)[2] == int(port)


def test_ports_name_the_variable():
    assert content_filter.ports(variables()) == {"content_filter_spamd_port": 783}
    assert content_filter.ports(variables(content_filter_spamd_port=10783)) == {"content_filter_spamd_port": 10783}


@settings(max_examples=300, deadline=None)
@given(tag=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000), st.text(max_size=8)),
       reject=st.one_of(st.floats(-1000, 1000), st.integers(-1000, 1000), st.text(max_size=8)),
       action=st.sampled_from(["tag", "reject", "drop"]))
def test_the_preflight_accepts_exactly_what_qmail_filter_accepts_on_the_host(tag, reject, action):
    given = dict(content_filter_tag_score=tag, content_filter_reject_score=reject, content_filter_spam_action=action)
    found = problems(**given)
    host = dict(qmail_filter.DEFAULTS, tag_score=tag, reject_score=reject, spam_action=action)
    try:
        qmail_filter.parse_config(host)
        accepted = True
    except qmail_filter.ValidationError:
        accepted = False
    assert (found == []) == accepted
    assert all(problem.startswith("content_filter_") for problem in found)


def test_network_tests_must_be_a_boolean():
    found = problems(content_filter_spamd_network_tests="sometimes")
    assert any("content_filter_spamd_network_tests" in problem for problem in found), found
