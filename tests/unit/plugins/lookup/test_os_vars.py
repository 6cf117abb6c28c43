# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role finds its per-OS variables, and an unknown platform fails instead of borrowing Debian's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.errors import AnsibleLookupError
from ansible_collections.mailops.qmail.plugins.lookup import os_vars

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles")
DEBIAN_12 = {"distribution": "Debian", "distribution_major_version": "12", "os_family": "Debian"}
GENTOO = {"distribution": "Gentoo", "distribution_major_version": "2", "os_family": "Gentoo"}


@pytest.mark.parametrize("role", sorted(r for r in os.listdir(ROLES) if os.path.isdir(os.path.join(ROLES, r, "vars"))
                                        and r != "smarthost"))
@pytest.mark.parametrize("facts, family", [(DEBIAN_12, "Debian"), (GENTOO, "Gentoo")])
def test_every_role_has_variables_for_both_platforms(role, facts, family):
    path = os_vars.find(os.path.join(ROLES, role), facts)
    assert os.path.basename(path) in ("Debian-12.yml", "%s.yml" % family)


def test_the_most_specific_file_wins():
    exists = {"/r/vars/Ubuntu.yml", "/r/vars/Debian.yml"}.__contains__
    assert os_vars.find("/r", {"distribution": "Ubuntu", "os_family": "Debian"}, exists) == "/r/vars/Ubuntu.yml"
    assert os_vars.find("/r", {"distribution": "Devuan", "os_family": "Debian"}, exists) == "/r/vars/Debian.yml"


def test_an_unknown_platform_fails_naming_it():
    with pytest.raises(AnsibleLookupError, match="distribution Fedora, OS family RedHat"):
        os_vars.find(os.path.join(ROLES, "smtpd"), {"distribution": "Fedora", "os_family": "RedHat"})
