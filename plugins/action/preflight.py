# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of mailops.qmail.preflight: judge the play's variables on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.qmail.plugins.plugin_utils import preflight

_ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
_PREFIX = "mailops.qmail."
# Set by a passing preflight, so a role's own preflight later in the same play is not run twice.
CHECKED_FACT = "mailops_qmail_preflight_roles"


def play_variables(loader, templar, roles, task_vars):
    """The variables of the play as the roles would see them, and a lookup that templates one.

    The roles' defaults files are the lowest layer, the play's variables go over them; the lookup
    raises KeyError for an unknown name and AnsibleError, naming the variable, for one that cannot
    be evaluated.
    """
    variables = {}
    for role in roles:
        path = os.path.join(_ROLES_DIR, role, "defaults", "main.yml")
        if os.path.exists(path):
            try:
                data = loader.load_from_file(path, trusted_as_template=True)
            except TypeError:  # ansible-core before 2.19 trusts every loaded string
                data = loader.load_from_file(path)
            variables.update(data or {})
    variables.update(task_vars)
    templar = templar.copy_with_new_env(available_variables=variables)

    def lookup(name):
        if name not in variables:
            raise KeyError(name)
        try:
            return templar.template(variables[name])
        except AnsibleError as exc:
            raise AnsibleError("%s cannot be evaluated: %s" % (name, exc.message))
    return variables, lookup


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("roles",))

    def _play_roles(self):
        """The collection's roles the play applies statically (a play's `roles:`), short names."""
        try:
            play_roles = self._task.get_play().get_roles()
        except AttributeError:
            return []
        # include_role appends its role to the same list, for every host at once: a role another host
        # included (site.yml gives each host its own services) is no role of this host's play.
        names = [role.get_name() for role in play_roles if not getattr(role, "from_include", False)]
        return [name[len(_PREFIX):] for name in names if name.startswith(_PREFIX)]

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        asked = self._task.args.get("roles") or []
        if not isinstance(asked, list) or not all(isinstance(role, str) for role in asked):
            return dict(result, failed=True, msg="roles must be a list of role names, got %r" % (asked,))
        unknown = [role for role in asked if role not in preflight.CHECKED_ROLES]
        if unknown:
            return dict(result, failed=True, msg="roles: %s not among %s" % (unknown, list(preflight.CHECKED_ROLES)))
        roles = list(asked)
        play_roles = self._play_roles()
        for role in play_roles:
            if role in preflight.CHECKED_ROLES and role not in roles:
                roles.append(role)

        already = (task_vars.get("ansible_facts") or {}).get(CHECKED_FACT) or []
        if set(roles) <= set(already):
            return dict(result, changed=False, roles=sorted(roles), msg="checked already by this play's preflight")

        lookup = play_variables(self._loader, self._templar, preflight.with_dependencies(roles), task_vars)[1]
        problems = preflight.problems(preflight.Variables(lookup), roles, play_roles)
        result.update(changed=False, roles=sorted(roles), problems=problems)
        if problems:
            result.update(failed=True, msg="Refusing these settings; nothing was written: " + " | ".join(problems))
        else:
            result["msg"] = "the settings of %s are acceptable" % ", ".join(sorted(roles))
            result["ansible_facts"] = {CHECKED_FACT: sorted(set(roles) | set(already))}
        return result
