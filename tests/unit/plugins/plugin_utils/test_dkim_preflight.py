# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight judges mailops.qmail.dkim's variables before anything is written, naming each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.mailops.qmail.plugins.plugin_utils import preflight

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles")


def judge(**overrides):
    with open(os.path.join(ROLES_DIR, "dkim", "defaults", "main.yml"), encoding="utf-8") as handle:
        values = yaml.safe_load(handle)
    values.update(overrides)
    return preflight.problems(preflight.Variables(values.__getitem__), ["dkim"])


def test_the_defaults_and_a_rotation_are_accepted():
    assert judge() == []
    assert judge(dkim_domains=[{"domain": "example.org", "selector": "r2026"},
                               {"domain": "example.org", "selector": "e2026", "algorithm": "ed25519-sha256",
                                "sign": False}]) == []


@pytest.mark.parametrize("overrides, expected", [
    ({"dkim_domains": [{"domain": "example.org", "selector": "r.2026"}]}, "dkim_domains[0].selector"),
    ({"dkim_domains": [{"domain": "example.org", "selector": "r2026", "bits": 1024}]}, "dkim_domains[0].bits"),
    ({"dkim_domains": [{"domain": "exa mple.org", "selector": "r2026"}]}, "dkim_domains[0].domain"),
    ({"dkim_unsignable": "drop"}, "dkim_unsignable"),
    ({"dkim_user": "qmaild\nroot"}, "dkim_user"),
    ({"dkim_key_dir": "relative/keys"}, "dkim_key_dir"),
])
def test_each_bad_setting_is_refused_naming_its_variable(overrides, expected):
    found = judge(**overrides)
    assert len(found) == 1 and expected in found[0], found
