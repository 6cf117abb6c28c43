# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: os_vars
short_description: The per-OS variables file of one of the collection's roles
version_added: 0.2.0
description:
  - Returns the first of C(vars/<distribution>-<major version>.yml), C(vars/<distribution>.yml) and
    C(vars/<os_family>.yml) under the given role path that exists, from the host's facts.
  - A host none of them fits fails with a message naming its distribution and family, instead of
    silently getting another platform's paths and packages.
author:
  - mailops.qmail developers (@mailops)
options:
  _terms:
    description: The role's path (C(role_path)).
    required: true
    type: list
    elements: path
"""

EXAMPLES = r"""
- name: Load the settings for this operating system
  ansible.builtin.include_vars: "{{ lookup('mailops.qmail.os_vars', role_path) }}"
"""

RETURN = r"""
_raw:
  description: The path of the variables file.
  type: list
  elements: path
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def candidates(facts):
    """File names to try, most specific first, from the host's facts."""
    distribution = facts.get("distribution")
    names = []
    if distribution and facts.get("distribution_major_version"):
        names.append("%s-%s.yml" % (distribution, facts["distribution_major_version"]))
    if distribution:
        names.append("%s.yml" % distribution)
    if facts.get("os_family"):
        names.append("%s.yml" % facts["os_family"])
    return names


def find(role_path, facts, exists=os.path.exists):
    for name in candidates(facts):
        path = os.path.join(role_path, "vars", name)
        if exists(path):
            return path
    raise AnsibleLookupError(
        "role %s has no variables for this host (distribution %s, OS family %s): mailops.qmail supports "
        "Debian and Gentoo" % (os.path.basename(os.path.normpath(role_path)), facts.get("distribution", "?"),
                               facts.get("os_family", "?")))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        facts = (variables or {}).get("ansible_facts") or {}
        return [find(term, facts) for term in terms]
