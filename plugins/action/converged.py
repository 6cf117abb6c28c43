# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of mailops.qmail.converged: digest the play's settings on the controller, then let the
module compare (or record) the host's snapshot in one round trip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.ansible_release import __version__ as ansible_version
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.qmail.plugins.action.preflight import play_variables
from ansible_collections.mailops.qmail.plugins.plugin_utils import converged, preflight

# The digest taken by the check at the start of the play; the record at its end stores that one,
# because by then the roles have set facts of their own.
SETTINGS_FACT = "mailops_qmail_settings"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("state", "roles", "path"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        state = self._task.args.get("state", "check")
        roles = self._task.args.get("roles") or []
        if state not in ("check", "record"):
            return dict(result, failed=True, msg="state must be check or record, got %r" % (state,))
        if not isinstance(roles, list) or not all(role in preflight.CHECKED_ROLES for role in roles):
            return dict(result, failed=True, msg="roles must be a list of %s, got %r" % (list(preflight.CHECKED_ROLES), roles))
        applied = preflight.with_dependencies(roles)

        variables, lookup = play_variables(self._loader, self._templar, applied, task_vars)
        if state == "check":
            values = {}
            for name in converged.input_names(variables):
                try:
                    values[name] = lookup(name)
                except AnsibleError:
                    # A value that cannot be evaluated yet is an input all the same, as its text.
                    values[name] = "unevaluated: %r" % (variables[name],)
            settings = converged.settings_digest(values, applied, task_vars.get("inventory_hostname", ""),
                                                 [converged.collection_digest(), ansible_version])
        else:
            why_not = converged.incomplete_run(task_vars.get("ansible_run_tags"), task_vars.get("ansible_skip_tags"),
                                               self._task.check_mode or task_vars.get("ansible_check_mode", False))
            if why_not:
                return dict(result, changed=False, skipped=True, msg="not recorded: " + why_not)
            settings = task_vars.get(SETTINGS_FACT)
            if not settings:
                return dict(result, failed=True,
                            msg="nothing to record: mailops.qmail.converged state=check did not run earlier in this play")
        module_args = {"state": state, "settings": settings}
        if state == "record":
            module_args["spec"] = converged.snapshot_spec(preflight.Variables(lookup), applied)
        if self._task.args.get("path"):
            module_args["path"] = self._task.args["path"]
        result.update(self._execute_module(module_name="mailops.qmail.converged", module_args=module_args,
                                           task_vars=task_vars))
        if state == "check" and not result.get("failed"):
            result["ansible_facts"] = {SETTINGS_FACT: settings}
        return result
