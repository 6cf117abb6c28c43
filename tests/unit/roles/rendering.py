# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a role's variables and templates with Ansible's own templating, for a given OS.

Gentoo cannot run in this project's containers, so its vars files and templates are exercised
here: the variables are layered as Ansible layers them for a role (defaults, vars/main.yml, then
vars/<OS>.yml as include_vars does, then the caller's extra variables) and rendered lazily.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ROLES = os.path.join(ROOT, "roles")
FAMILY_FACTS = {
    "Gentoo": {"os_family": "Gentoo", "distribution": "Gentoo", "distribution_major_version": "2",
               "fqdn": "mail.example.org", "service_mgr": "openrc", "pkg_mgr": "portage"},
    "Debian": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
               "fqdn": "mail.example.org", "service_mgr": "systemd", "pkg_mgr": "apt"},
}


def load(path):
    return DataLoader().load_from_file(path, trusted_as_template=True) or {}


def role_vars(role, family, dependencies=(), **extra):
    """The variables a role sees on `family`, with its dependencies' variables underneath."""
    variables = {"ansible_managed": "Ansible managed", "ansible_check_mode": False}
    for name in list(dependencies) + [role]:
        base = os.path.join(ROLES, name)
        variables.update(load(os.path.join(base, "defaults", "main.yml")))
        variables.update(load(os.path.join(base, "vars", "main.yml")))
        variables.update(load(os.path.join(base, "vars", family + ".yml")))
    facts = dict(FAMILY_FACTS[family])
    facts.update(extra.pop("ansible_facts", {}))
    variables["ansible_facts"] = facts
    variables.update(extra)
    return variables


def render(variables, text):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))


def value(variables, name):
    return render(variables, "{{ %s }}" % name)


def render_template(role, relpath, variables):
    with open(os.path.join(ROLES, role, "templates", relpath), encoding="utf-8") as handle:
        return render(variables, handle.read())
