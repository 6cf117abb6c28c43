"""tcpserver's defaults as Ansible templates them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize("me, local", [("mx.example.org", "mx.example.org"), ("", "0")])
def test_tcpserver_names_the_local_host_as_control_me_for_qmail_smtpds_received_line(me, local):
    # qmail-smtpd writes "by $TCPLOCALHOST" in its Received line; -l 0 made that "by 0".
    variables = r.role_vars("tcpserver", "Debian", dependencies=("qmail",), qmail_me=me)
    assert r.value(variables, "tcpserver_opts") == ["-v", "-R", "-l", local]
