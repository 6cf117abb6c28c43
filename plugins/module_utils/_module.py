# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AnsibleModule the collection's modules are built on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import decimal
import math

from ansible.module_utils.basic import AnsibleModule

# More digits than any whole number the collection takes (ports, sizes, counts, ids).
_MAX_DIGITS = 30


def _int_type_survives(value):
    """Whether ansible-core's 'int' type can judge value without crashing.

    It converts through decimal.Decimal: an infinity raises OverflowError out of the module's
    start, and a string such as '1e999999999' becomes a number too big to build.
    """
    if isinstance(value, float):
        return math.isfinite(value)
    if not isinstance(value, str):
        return True
    try:
        number = decimal.Decimal(value)
    except decimal.DecimalException:
        return True
    return number.is_finite() and number.adjusted() < _MAX_DIGITS


def _tame_int_options(spec, params):
    """Replace the values of 'int' options that ansible-core cannot judge by a text it refuses
    cleanly ('"..." cannot be converted to an int'), so the refusal names the option."""
    for name, option in spec.items():
        value = params.get(name)
        if option.get("type") == "int" and not _int_type_survives(value):
            params[name] = "%s is not a whole number" % (value,)
        suboptions = option.get("options")
        if suboptions:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    _tame_int_options(suboptions, item)


class QmailModule(AnsibleModule):
    """AnsibleModule whose start survives any argument, so that a bad one is refused by name.

    A string read from a file that is not UTF-8 (lookup('file'), slurp) reaches a module holding
    lone surrogates. AnsibleModule logs every argument when it starts and that log line raises
    UnicodeEncodeError before the module can say which argument is wrong; logging a note instead
    lets the module's own validation refuse the value. Values of 'int' options that ansible-core
    would crash on are made into text it refuses.
    """

    def _load_params(self):
        super(QmailModule, self)._load_params()
        _tame_int_options(self.argument_spec, self.params)

    def _log_invocation(self):
        try:
            super(QmailModule, self)._log_invocation()
        except UnicodeError:
            self.log("Invoked with arguments that are not valid UTF-8; not logging them")
