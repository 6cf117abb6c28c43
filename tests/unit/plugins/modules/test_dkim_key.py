# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mailops.qmail.dkim_key: a key made once, kept, never shown, honest in check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import dkim
from ansible_collections.mailops.qmail.plugins.modules import dkim_key
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module


@pytest.fixture
def key_dir(tmp_path):
    (tmp_path / "example.org").mkdir()
    return str(tmp_path)


def run(capsys, key_dir, **args):
    args.setdefault("domain", "example.org")
    args.setdefault("selector", "s1")
    return run_module(dkim_key.main, capsys, key_dir=key_dir, **args)


@pytest.mark.parametrize("key_algorithm, bits, key_type", [
    ("rsa-sha256", 2048, "rsa"), ("ed25519-sha256", None, "ed25519")])
def test_creates_a_private_key_0600_returns_the_record_then_keeps_it(capsys, key_dir, key_algorithm, bits, key_type):
    first, out = run(capsys, key_dir, algorithm=key_algorithm, diff=True, raw=True)
    path = os.path.join(key_dir, "example.org", "s1.private")
    assert first["changed"] and first["path"] == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "rb") as handle:
        pem = handle.read()
    assert dkim.key_facts(pem) == (key_algorithm, bits, first["public_key"])
    assert first["txt_name"] == "s1._domainkey.example.org"
    assert first["txt_value"] == "v=DKIM1; k=%s; p=%s" % (key_type, first["public_key"])
    body = b"".join(pem.splitlines()[1:-1]).decode("ascii")
    assert body[:40] not in out and "PRIVATE KEY" not in out
    assert first["diff"]["before"] == "(no key)\n" and first["public_key"] in first["diff"]["after"]
    second = run(capsys, key_dir, algorithm=key_algorithm)
    assert not second["changed"] and second["public_key"] == first["public_key"]
    with open(path, "rb") as handle:
        assert handle.read() == pem


def test_check_mode_predicts_creation_and_writes_nothing(capsys, key_dir, tmp_path):
    result = run(capsys, key_dir, check=True)
    assert result["changed"] and result["public_key"] is None and result["txt_value"] is None
    assert os.listdir(os.path.join(key_dir, "example.org")) == []
    fresh = run(capsys, str(tmp_path / "not-yet"), check=True)
    assert fresh["changed"]


def test_without_cryptography_only_a_check_for_a_missing_key_can_answer(capsys, key_dir, monkeypatch):
    """A check run before the role has installed the library predicts the key; anything that must
    read or make a key says which library is missing."""
    monkeypatch.setattr(dkim, "HAS_CRYPTOGRAPHY", False)
    predicted = run(capsys, key_dir, check=True)
    assert predicted["changed"] and not predicted.get("failed") and predicted["txt_value"] is None
    refused = run(capsys, key_dir)
    assert refused["failed"] and "cryptography" in refused["msg"]
    assert os.listdir(os.path.join(key_dir, "example.org")) == []
    monkeypatch.setattr(dkim, "HAS_CRYPTOGRAPHY", True)
    run(capsys, key_dir)
    monkeypatch.setattr(dkim, "HAS_CRYPTOGRAPHY", False)
    assert "cryptography" in run(capsys, key_dir, check=True)["msg"]


def test_a_mode_change_alone_is_a_change_and_check_mode_predicts_it(capsys, key_dir):
    run(capsys, key_dir, algorithm="ed25519-sha256")
    path = os.path.join(key_dir, "example.org", "s1.private")
    os.chmod(path, 0o644)
    assert run(capsys, key_dir, algorithm="ed25519-sha256", check=True)["changed"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert run(capsys, key_dir, algorithm="ed25519-sha256")["changed"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_key_of_another_algorithm_is_refused_unless_forced(capsys, key_dir):
    run(capsys, key_dir, algorithm="ed25519-sha256")
    path = os.path.join(key_dir, "example.org", "s1.private")
    with open(path, "rb") as handle:
        before = handle.read()
    refused = run(capsys, key_dir, algorithm="rsa-sha256")
    assert refused["failed"] and "new selector" in refused["msg"] and "force: true" in refused["msg"]
    assert path in refused["msg"] and "ed25519-sha256" in refused["msg"]
    with open(path, "rb") as handle:
        assert handle.read() == before
    forced = run(capsys, key_dir, algorithm="rsa-sha256", force=True)
    assert forced["changed"] and forced["txt_value"].startswith("v=DKIM1; k=rsa; p=")


def test_a_file_that_is_no_key_is_refused_naming_it(capsys, key_dir):
    path = os.path.join(key_dir, "example.org", "s1.private")
    with open(path, "w") as handle:
        handle.write("hello\n")
    result = run(capsys, key_dir)
    assert result["failed"] and path in result["msg"] and "no usable" not in result["msg"]
    assert "not an unencrypted PEM private key" in result["msg"]


@pytest.mark.parametrize("args, field", [
    ({"selector": "a.b"}, "selector: 'a.b'"),
    ({"domain": "bad domain"}, "domain: 'bad domain'"),
    ({"bits": 1024}, "bits: 1024"),
])
def test_bad_options_fail_naming_the_option_and_write_nothing(capsys, key_dir, args, field):
    result = run(capsys, key_dir, **args)
    assert result["failed"] and field in result["msg"]
    assert os.listdir(os.path.join(key_dir, "example.org")) == []


def test_absent_removes_the_key(capsys, key_dir):
    run(capsys, key_dir, algorithm="ed25519-sha256")
    assert run(capsys, key_dir, state="absent", check=True)["changed"]
    assert run(capsys, key_dir, state="absent")["changed"]
    assert not run(capsys, key_dir, state="absent")["changed"]
    assert os.listdir(os.path.join(key_dir, "example.org")) == []
