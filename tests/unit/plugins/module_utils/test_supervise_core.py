# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions and input validation of module_utils/supervise.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils.supervise import (
    SuperviseError,
    env_file_content,
    log_run_script,
    parse_svstat,
    validate,
)


def params(**overrides):
    base = dict(name="qmail-send", service_dir=None, scan_dir="/etc/service", run="#!/bin/sh\nexec /var/qmail/rc\n",
                log=True, log_dir=None, log_user="qmaill", log_size=2500000, log_count=10, env=None,
                secret_env=[], enabled=True, down=False, restart=True, state="present")
    base.update(overrides)
    return base


def test_log_run_rotates_at_gentoo_size_as_log_user():
    assert log_run_script("qmaill", "/var/log/qmail/qmail-send", 2500000, 10) == (
        "#!/bin/sh\nexec setuidgid qmaill multilog t s2500000 n10 /var/log/qmail/qmail-send\n")


@pytest.mark.parametrize("value, content", [
    ("1", b"1\n"),
    ("", b"\n"),  # an empty line sets an empty variable; an empty file would unset it
    ("a b", b"a b\n"),
])
def test_env_file_content_is_one_line(value, content):
    assert env_file_content(value) == content


@pytest.mark.parametrize("output, expected", [
    ("/etc/service/qmail-send: up (pid 12) 3 seconds\n", True),
    ("/etc/service/qmail-send: down 4 seconds, normally up\n", False),
    ("/etc/service/qmail-send: supervise not running\n", False),
    ("/etc/service/qmail-send: unable to open supervise/ok: file does not exist\n", False),
    ("", None),
])
def test_parse_svstat(output, expected):
    assert parse_svstat(output) is expected


@pytest.mark.parametrize("overrides, field", [
    (dict(name="../etc"), "name"),
    (dict(name=".hidden"), "name"),
    (dict(scan_dir="service"), "scan_dir"),
    (dict(service_dir="relative/dir"), "service_dir"),
    (dict(log_dir="logs"), "log_dir"),
    (dict(run=None), "run is required"),
    (dict(run="exec /var/qmail/rc\n"), "run must start"),
    (dict(log_size=100), "log_size"),
    (dict(log_count=1), "log_count"),
    (dict(log_user="bad user"), "log_user"),
    (dict(env={"BAD-NAME": "1"}), "env key"),
    (dict(env={"A": "two\nlines"}), "env value of 'A'"),
    (dict(env={"A": "1"}, secret_env=["B"]), "secret_env names 'B'"),
])
def test_validate_names_the_field(overrides, field):
    with pytest.raises(SuperviseError) as exc:
        validate(params(**overrides))
    assert field in str(exc.value)


def test_validate_accepts_absent_without_run():
    validate(params(state="absent", run=None))
