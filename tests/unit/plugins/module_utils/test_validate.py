# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate.collect: the one way the variable checks gather every refusal at once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import validate


def test_collect_keeps_each_refusal_and_lets_other_errors_through():
    found = []
    validate.collect(found, validate.hostname, "mx example", "qmail_me")
    validate.collect(found, validate.hostname, "mx.example.org", "qmail_me")
    assert len(found) == 1 and found[0].startswith("qmail_me:")
    with pytest.raises(TypeError):
        validate.collect(found, validate.hostname)
