# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's judgement of mailops.qmail.imapd, on the variables alone, with the role's defaults."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.mailops.qmail.plugins.plugin_utils import preflight
from ansible_collections.mailops.qmail.plugins.plugin_utils import imapd

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles")


def judge(roles=("imapd",), **overrides):
    with open(os.path.join(ROLES_DIR, "imapd", "defaults", "main.yml"), encoding="utf-8") as handle:
        values = yaml.safe_load(handle)
    values.update(overrides)

    def lookup(name):
        return values[name]
    return preflight.problems(preflight.Variables(lookup), list(roles))


def test_the_defaults_are_accepted():
    assert judge() == []


def test_the_owned_settings_are_those_the_role_writes():
    with open(os.path.join(ROLES_DIR, "imapd", "vars", "main.yml"), encoding="utf-8") as handle:
        owned = yaml.safe_load(handle)["__imapd_owned_settings"]
    assert sorted(owned) == sorted(imapd.OWNED_SETTINGS)


@pytest.mark.parametrize("overrides, expected", [
    ({"imapd_maildir": "../../etc"}, "imapd_maildir: '../../etc' is not a maildir inside the home directory"),
    ({"send_maildir_name": "/var/mail"}, "send_maildir_name (imapd_maildir is null): '/var/mail'"),
    ({"imapd_listen": ["mail.example.org"]}, "imapd_listen[0]"),
    ({"imapd_extra_settings": {"ssl": "no"}}, "imapd_extra_settings.ssl"),
    ({"imapd_certificate": "/etc/ssl/x.pem"}, "imapd_certificate is '/etc/ssl/x.pem' and imapd_key is None"),
    ({"imapd_auth": "ldap"}, "imapd_auth: 'ldap' is not one of"),
    ({"pop3d_checkpassword": "program"}, "imapd_auth is auto, but pop3d_checkpassword is program"),
    ({"send_delivery": "mbox"}, "send_delivery is mbox"),
    ({"imapd_port": 993}, "imapd_tls_port: port 993 is already imapd_port"),
    ({"imapd_port": 70000}, "imapd_port"),
    ({"imapd_imaps_enabled": "maybe"}, "imapd_imaps_enabled"),
])
def test_each_bad_setting_is_refused_naming_its_variable(overrides, expected):
    found = judge(**overrides)
    assert len(found) == 1 and expected in found[0], found


def test_imaps_off_frees_its_port():
    assert judge(imapd_port=993, imapd_imaps_enabled=False) == []


def test_imap_may_not_take_a_port_of_another_service():
    found = judge(roles=("imapd", "pop3d"), imapd_port=110, pop3d_port=110, pop3d_tls_enabled=False)
    assert any("port 110" in problem for problem in found), found


def test_a_play_that_applies_imapd_before_tls_or_pop3d_is_refused():
    found = preflight.order_problems(["imapd", "pop3d", "tls"])
    assert any("imapd before mailops.qmail.pop3d" in problem for problem in found)
    assert any("imapd before mailops.qmail.tls" in problem for problem in found)
