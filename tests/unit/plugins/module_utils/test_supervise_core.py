# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions and input validation of module_utils/supervise.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils.supervise import (
    SuperviseError,
    env_file_content,
    env_value,
    envdir_reads,
    log_run_script,
    parse_svstat,
    service_up,
    shell_of,
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


def test_log_run_quotes_a_log_dir_the_shell_would_split():
    assert log_run_script("qmaill", "/var/log/my logs", 4096, 2).endswith(" n2 '/var/log/my logs'\n")


SVSTAT = """/etc/service/qmail-send: up (pid 123) 45 seconds
/etc/service/qmail-smtpd: down 3 seconds, normally up, want up
/etc/service/qmail-pop3d: down 60 seconds
/etc/service/my service: up (pid 9) 1 seconds, normally down
/etc/service/qmtpd: supervise not running
/etc/service/qmqpd: unable to open supervise/ok: file does not exist
svstat: fatal: unable to chdir to /nowhere
"""


def test_parse_svstat_reads_state_pid_seconds_and_flags():
    parsed = parse_svstat(SVSTAT)
    assert parsed["/etc/service/qmail-send"] == {
        "state": "up", "pid": 123, "seconds": 45, "normally_down": False, "normally_up": False,
        "wants_up": False, "problem": None}
    assert parsed["/etc/service/qmail-smtpd"]["wants_up"] is True
    assert parsed["/etc/service/qmail-smtpd"]["normally_up"] is True
    assert parsed["/etc/service/qmail-pop3d"]["pid"] is None
    assert parsed["/etc/service/my service"]["normally_down"] is True
    assert parsed["/etc/service/qmtpd"]["state"] is None
    assert parsed["/etc/service/qmtpd"]["problem"] == "supervise not running"
    assert parsed["/etc/service/qmqpd"]["problem"].startswith("unable to open supervise/ok")
    assert len(parsed) == 6, "a fatal message names no service"


@pytest.mark.parametrize("path, expected", [
    ("/etc/service/qmail-send", True),
    ("/etc/service/qmail-smtpd", False),
    ("/etc/service/qmtpd", False),
    ("/etc/service/qmqpd", False),
    ("/etc/service/absent", None),
])
def test_service_up(path, expected):
    assert service_up(SVSTAT, path) is expected


@pytest.mark.parametrize("script, shell", [
    ("#!/bin/sh\nexec true\n", "/bin/sh"),
    ("#! /bin/bash -e\n", "/bin/bash"),
    ("#!/usr/bin/env dash\n", "dash"),
    ("#!/usr/bin/perl\n", None),
    ("#!/command/execlineb -P\n", None),
    ("#!/usr/bin/env\n", None),
    ("#!\n", None),
])
def test_shell_of(script, shell):
    assert shell_of(script) == shell


@pytest.mark.parametrize("value, text", [
    ("1", "1"), ("", ""), (None, ""), (2, "2"), (1.5, "1.5"), (" leading", " leading"), ("a\rb", "a\rb"),
])
def test_env_value_accepts_what_envdir_reads_back(value, text):
    assert env_value(value, "env.A") == text
    assert envdir_reads(env_file_content(text)) == text


@pytest.mark.parametrize("value, message", [
    ("two\nlines", "envdir would read differently"),
    ("nul\x00byte", "envdir would read differently"),
    ("trailing ", "envdir would read differently"),
    ("trailing\t", "envdir would read differently"),
    ("\ud800", "not valid UTF-8"),
    (True, "quote yes/no"),
    ({"a": 1}, "a string or a number is accepted"),
    (["a"], "a string or a number is accepted"),
])
def test_env_value_refuses_by_name(value, message):
    with pytest.raises(SuperviseError) as info:
        env_value(value, "env.A")
    assert str(info.value).startswith("env.A: ") and message in str(info.value)


def test_secret_env_value_is_masked_in_the_error():
    with pytest.raises(SuperviseError) as info:
        env_value("hunter2 ", "env.TOKEN", secret=True)
    assert "hunter2" not in str(info.value) and "env.TOKEN: ********" in str(info.value)


@pytest.mark.parametrize("content, value", [
    (b"", None), (b"\n", ""), (b"x", "x"), (b"a b \t\nsecond line", "a b"), (b"a\x00b\n", "a\nb"),
])
def test_envdir_model(content, value):
    assert envdir_reads(content) == value


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=20))
def test_env_value_is_accepted_exactly_when_envdir_reads_it_back(value):
    readable = ("\n" not in value and "\x00" not in value and not value.endswith((" ", "\t"))
                and not any(0xD800 <= ord(char) <= 0xDFFF for char in value))
    try:
        text = env_value(value, "env.A")
    except SuperviseError:
        assert not readable
    else:
        assert readable and text == value


@pytest.mark.parametrize("overrides, field", [
    (dict(name="../etc"), "name"),
    (dict(name=".hidden"), "name"),
    (dict(scan_dir="service"), "scan_dir"),
    (dict(service_dir="relative/dir"), "service_dir"),
    (dict(log_dir="logs"), "log_dir"),
    (dict(run=None), "run is required"),
    (dict(run="exec /var/qmail/rc\n"), "run must start"),
    (dict(log_size=100), "log_size: 100 is not an integer from 4096 to 16777215"),
    (dict(log_size=16777216), "log_size: 16777216"),
    (dict(log_size=10 ** 40), "log_size"),
    (dict(log_size=True), "log_size"),
    (dict(log_count=1), "log_count: 1"),
    (dict(log_count=2 ** 32), "log_count"),
    (dict(log_user="bad user"), "log_user"),
    (dict(log_user="qmaill\n"), "log_user"),
    (dict(name="qmail-send\n"), "name"),
    (dict(name=5), "name"),
    (dict(scan_dir="/etc/ser\x00vice"), "scan_dir"),
    (dict(scan_dir="/etc/ser\ud800vice"), "scan_dir"),
    (dict(run="#!/bin/sh\n\ud800\n"), "run: "),
    (dict(run="#!/bin/sh\n\x00\n"), "run: "),
    (dict(run=["#!/bin/sh"]), "run: "),
    (dict(down_reason="\udc80"), "down_reason: "),
    (dict(env={"BAD-NAME": "1"}), "env: 'BAD-NAME' is not an environment variable name"),
    (dict(env={"A\n": "1"}), "env: 'A\\n' is not an environment variable name"),
    (dict(env={"A": "two\nlines"}), "env.A: 'two\\nlines'"),
    (dict(env={"A": "1"}, secret_env=["B"]), "secret_env names 'B'"),
    (dict(env=["A"]), "env: "),
])
def test_validate_names_the_field(overrides, field):
    with pytest.raises(SuperviseError) as exc:
        validate(params(**overrides))
    assert field in str(exc.value)


def test_validate_accepts_absent_without_run():
    validate(params(state="absent", run=None))
