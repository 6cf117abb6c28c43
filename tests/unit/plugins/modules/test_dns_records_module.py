# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dns_records module end to end: never changed, refusals by option name, check without
dnspython, and DNS failures reported per record."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ansible_collections.mailops.qmail.plugins.module_utils import dns_records as core
from ansible_collections.mailops.qmail.plugins.modules import dns_records
from ansible_collections.mailops.qmail.tests.unit.plugins.modules import module_runner
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module

KEY = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def run(capsys, check_mode=False, **args):
    """run_module() with the module's option 'check' passed as it is: run_module() itself takes
    that keyword for check mode."""
    option = dict((name, args.pop(name)) for name in ["check"] if name in args)
    patch = module_runner.patch_module_args
    with mock.patch.object(module_runner, "patch_module_args", lambda given: patch(dict(given, **option))):
        return run_module(dns_records.main, capsys, check=check_mode, owner=None, group=None, **args)


def domains(**extra):
    spec = dict(name="example.com", mx=[dict(host="mx1.example.com")], spf=dict(addresses=["192.0.2.25"]),
                dkim=[dict(selector="s1", public_key=KEY)], dmarc=dict(policy="reject"))
    spec.update(extra)
    return [spec]


@pytest.mark.parametrize("check_mode", [False, True])
def test_records_and_zone_are_returned_and_nothing_changes(capsys, check_mode):
    result = run(capsys, check_mode=check_mode, domains=domains(mta_sts={}), ttl=600)
    assert result["changed"] is False and "failed" not in result
    assert result["zone"].splitlines() == [core.zone_line(r) for r in result["records"]]
    assert result["zone"].splitlines()[0] == "example.com. 600 IN MX 10 mx1.example.com."
    assert "v=spf1 ip4:192.0.2.25 -all" in result["zone"]
    assert result["mta_sts_policy"]["example.com"].startswith("version: STSv1\r\nmode: enforce\r\n")
    assert "all_present" not in result and "status" not in result["records"][0]


@pytest.mark.parametrize("args, message", [
    (dict(domains=domains(dmarc=dict(policy="quarantine", rua=["no address"]))), "domains[0].dmarc.rua[0]: 'no address'"),
    (dict(domains=domains(dkim=[dict(selector="a.b", public_key=KEY)])), "domains[0].dkim[0].selector: 'a.b'"),
    (dict(domains=domains(dmarc=dict(policy="strict"))), "policy"),
    (dict(domains=domains(), ttl=-1), "ttl: -1 is outside 0..2147483647"),
    (dict(domains=domains(), check=True, nameserver="no such host!"), "nameserver: 'no such host!'"),
    (dict(domains=domains(), check=True, nameserver="127.0.0.1", port=0), "port: 0"),
    (dict(domains=domains(), check=True, nameserver="127.0.0.1", timeout=0.0), "timeout: 0.0"),
])
def test_bad_input_fails_naming_the_option(capsys, args, message):
    result = run(capsys, **args)
    assert result["failed"] is True and message in result["msg"]
    assert "Traceback" not in result["msg"]


def test_check_without_dnspython_names_the_library(capsys):
    with mock.patch.object(core, "HAS_DNSPYTHON", False):
        result = run(capsys, domains=domains(), check=True)
    assert result["failed"] is True and "dnspython" in result["msg"] and "python3-dnspython" in result["msg"]


def test_a_server_that_does_not_answer_gives_error_statuses(capsys):
    pytest.importorskip("dns.resolver")
    result = run(capsys, domains=domains(), check=True, nameserver="127.0.0.1", port=9, timeout=0.3)
    assert result["changed"] is False and result["all_present"] is False
    assert all(r["status"].startswith("error: ") for r in result["records"])
