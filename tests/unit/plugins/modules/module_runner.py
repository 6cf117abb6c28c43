# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a module's main() the way Ansible would, for the module tests of this directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd
from unittest import mock

import pytest

from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args

# Files the tests write belong to whoever runs them, so no test needs root.
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run_module(main, capsys, check=False, diff=False, raw=False, **args):
    """Call main() with args (owner and group default to the caller; None leaves them out, for
    modules without them) and return its JSON result, or (result, the printed text) with raw=True,
    for tests that look for leaked secrets."""
    for key, mine in (("owner", ME), ("group", MY_GROUP)):
        if args.setdefault(key, mine) is None:
            del args[key]
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    # A module runs in a process of its own, without the controller. Once another test has
    # imported controller code, ansible-core would act as the controller inside the module:
    # warnings go to its display instead of the result, and arguments that are not valid UTF-8 are
    # refused before the module under test could refuse them.
    with mock.patch.object(_internal, "is_controller", False), \
            mock.patch.object(_internal, "import_controller_module", lambda name: None):
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                main()
    out = capsys.readouterr().out
    return (json.loads(out), out) if raw else json.loads(out)


def warnings(result):
    """Warning texts (ansible-core 2.19 returns structured warning summaries)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
