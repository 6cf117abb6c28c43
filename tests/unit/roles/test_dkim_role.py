# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role dkim: its variables as the tasks see them, and the signer it installs, run as qmail-smtpd
runs a QMAILQUEUE program (message on fd 0, envelope on fd 1) in the directory layout the role
writes, with a stand-in qmail-queue that records what it was given."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import dkim as dkimpy
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rendering as r  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailops.qmail.plugins.module_utils import dkim  # noqa: E402

ROLE = os.path.join(r.ROLES, "dkim")
MESSAGE = (b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: hello\n"
           b"Message-ID: <2@example.org>\n\nHello Bob.\n")
ENVELOPE = b"Falice@example.org\0Tbob@example.net\0\0"
# Records fd 0 and fd 1 in the files named by its arguments, as qmail-queue would read them.
FAKE_QUEUE = """import os, sys
def read(fd):
    data = b""
    while True:
        part = os.read(fd, 65536)
        if not part:
            return data
        data += part
open(sys.argv[1], "wb").write(read(0))
open(sys.argv[2], "wb").write(read(1))
sys.exit(int(os.environ.get("FAKE_QUEUE_STATUS", "0")))
"""


def dkim_vars(family="Debian", **extra):
    qmail_defaults = r.load(os.path.join(r.ROLES, "qmail", "defaults", "main.yml"))
    return r.role_vars("dkim", family, __dkim_qmail_defaults=qmail_defaults, **extra)


def test_argument_specs_are_the_single_source_of_the_defaults():
    defaults = r.load(os.path.join(ROLE, "defaults", "main.yml"))
    options = r.load(os.path.join(ROLE, "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
        assert name.startswith("dkim_") and spec.get("description"), name


def test_the_defaults_pass_the_checks_and_the_default_headers_are_the_module_utils_ones():
    defaults = r.load(os.path.join(ROLE, "defaults", "main.yml"))
    assert dkim.problems(defaults) == []
    assert defaults["dkim_headers"] == list(dkim.DEFAULT_HEADERS)
    assert defaults["dkim_canonicalization"] == dkim.DEFAULT_CANONICALIZATION
    assert defaults["dkim_unsignable"] == dkim.DEFER


def test_debian_and_gentoo_vars_define_the_same_internal_names():
    debian = r.load(os.path.join(ROLE, "vars", "Debian.yml"))
    gentoo = r.load(os.path.join(ROLE, "vars", "Gentoo.yml"))
    assert set(debian) == set(gentoo)
    assert all(name.startswith("__dkim_") for name in debian)


@pytest.mark.parametrize("extra, key_dir, queue", [
    ({}, "/var/qmail/control/dkim", "/var/qmail/bin/qmail-queue"),
    ({"qmail_home": "/opt/qmail"}, "/opt/qmail/control/dkim", "/opt/qmail/bin/qmail-queue"),
    ({"dkim_key_dir": "/etc/dkim", "dkim_queue_program": "/usr/local/lib/mailops-qmail/qmail-filter-queue"},
     "/etc/dkim", "/usr/local/lib/mailops-qmail/qmail-filter-queue"),
])
def test_paths_follow_qmail_home_unless_set(extra, key_dir, queue):
    variables = dkim_vars(**extra)
    assert r.value(variables, "__dkim_key_dir") == key_dir
    assert r.value(variables, "__dkim_config") == key_dir + "/signer.json"
    assert r.value(variables, "__dkim_queue_program") == queue


@pytest.fixture(scope="module")
def rsa_pem():
    return dkim.generate_private_key(dkim.RSA, 2048)


@pytest.fixture
def host(tmp_path, rsa_pem):
    """The signer installed as the role installs it, a key, and a stand-in qmail-queue."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(os.path.join(ROLE, "files", "qmail-dkim-sign"), str(lib / "qmail-dkim-sign"))
    shutil.copy(os.path.join(r.ROOT, "plugins", "module_utils", "dkim.py"), str(lib / "mailops_dkim.py"))
    shutil.copy(os.path.join(r.ROOT, "plugins", "module_utils", "validate.py"), str(lib / "mailops_validate.py"))
    (tmp_path / "example.org").mkdir()
    key_file = tmp_path / "example.org" / "s1.private"
    key_file.write_bytes(rsa_pem)
    queue = tmp_path / "qmail-queue"
    queue.write_text("#!/bin/sh\nexec %s %s %s %s\n" % (sys.executable, tmp_path / "fake_queue.py",
                                                        tmp_path / "message", tmp_path / "envelope"))
    queue.chmod(0o755)
    (tmp_path / "fake_queue.py").write_text(FAKE_QUEUE)
    return tmp_path


def write_config(host, **settings):
    config = {"keys": [{"domain": "example.org", "selector": "s1", "algorithm": "rsa-sha256",
                        "key_file": str(host / "example.org" / "s1.private")}],
              "queue_program": str(host / "qmail-queue")}
    config.update(settings)
    (host / "signer.json").write_text(json.dumps(config))


def run_signer(host, message=MESSAGE, status=0):
    """Run qmail-dkim-sign as qmail.c does: message on fd 0, the envelope readable on fd 1."""
    envelope_read, envelope_write = os.pipe()
    os.write(envelope_write, ENVELOPE)
    os.close(envelope_write)
    # A bare environment: the signer must find its modules beside itself, not through the test's path.
    env = {"PATH": "/usr/bin:/bin", "FAKE_QUEUE_STATUS": str(status)}
    try:
        done = subprocess.run([sys.executable, str(host / "lib" / "qmail-dkim-sign"), str(host / "signer.json")],
                              input=message, stdout=envelope_read, stderr=subprocess.PIPE, env=env, timeout=60,
                              check=False)
    finally:
        os.close(envelope_read)
    return done.returncode, done.stderr.decode()


def queued(host):
    return (host / "message").read_bytes(), (host / "envelope").read_bytes()


def test_the_signer_signs_and_hands_the_envelope_on_untouched(host, rsa_pem):
    write_config(host)
    status, log = run_signer(host)
    assert status == 0, log
    message, envelope = queued(host)
    assert envelope == ENVELOPE
    assert message.startswith(b"DKIM-Signature: ") and message.endswith(MESSAGE)
    record = dkim.txt_value(dkim.RSA, dkim.key_facts(rsa_pem)[2]).encode()
    assert dkimpy.verify(message.replace(b"\n", b"\r\n"),
                         dnsfunc=lambda name, timeout=5: record if name == b"s1._domainkey.example.org." else None)
    assert log.count("\n") == 1 and "signed for example.org with s1 (rsa-sha256)" in log


def test_mail_of_another_domain_goes_on_unsigned(host):
    write_config(host)
    other = MESSAGE.replace(b"alice@example.org>", b"alice@example.com>")
    assert run_signer(host, other)[0] == 0
    assert queued(host)[0] == other


@pytest.mark.parametrize("unsignable, status, queued_message", [("defer", 71, None), ("send", 0, MESSAGE)])
def test_an_unsignable_message_is_deferred_or_sent_unsigned_with_one_log_line(
        host, unsignable, status, queued_message):
    write_config(host, unsignable=unsignable)
    (host / "example.org" / "s1.private").unlink()
    got, log = run_signer(host)
    assert got == status
    assert log.count("\n") == 1 and "s1.private" in log and ("deferred" if status else "sent unsigned") in log
    if queued_message is None:
        assert not (host / "message").exists()
    else:
        assert queued(host) == (queued_message, ENVELOPE)


def test_the_next_programs_failure_is_the_signers_status(host):
    write_config(host)
    assert run_signer(host, status=31)[0] == 31


def test_a_bad_configuration_defers_naming_the_setting(host):
    write_config(host, unsignable="drop")
    status, log = run_signer(host)
    assert status == dkim.EXIT_CONFIG and "unsignable: 'drop'" in log
    assert not (host / "message").exists()
