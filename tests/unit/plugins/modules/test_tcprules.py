# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tcprules module end to end: both files, idempotence on content, corrupt CDBs, check/diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest


from ansible_collections.mailops.qmail.plugins.module_utils import _io
from ansible_collections.mailops.qmail.plugins.modules import tcprules
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module

RULES = [dict(match="127.", env={"RELAYCLIENT": ""}),
         dict(match="192.0.2.0/24", comment="office", env={"RELAYCLIENT": ""}),
         dict(match="198.51.100.1-9", action="deny"),
         dict(match="", env={"SMTPAUTH": "!"})]


def run(capsys, **kwargs):
    return run_module(tcprules.main, capsys, **kwargs)


@pytest.fixture
def src(tmp_path):
    return tmp_path / "tcp.smtp"


def cdb_of(src):
    return src.parent / (src.name + ".cdb")


def test_writes_source_and_cdb_then_is_idempotent(capsys, src):
    result = run(capsys, path=str(src), rules=RULES)
    assert result["changed"] and result["cdb_rebuilt"] and result["rules"] == 4
    text = src.read_text()
    assert "127.:allow,RELAYCLIENT=\"\"\n# office\n192.0.2.:allow" in text
    assert cdb_of(src).exists()
    again = run(capsys, path=str(src), rules=RULES)
    assert again["changed"] is False and again["cdb_rebuilt"] is False


@pytest.mark.skipif(not os.access("/usr/bin/tcprules", os.X_OK), reason="ucspi-tcp's tcprules is not installed")
def test_cdb_equals_real_tcprules_output_of_the_written_source(capsys, src, tmp_path):
    run(capsys, path=str(src), rules=RULES)
    with open(str(src), "rb") as handle:
        subprocess.run(["/usr/bin/tcprules", str(tmp_path / "real.cdb"), str(tmp_path / "real.tmp")],
                       stdin=handle, check=True)
    assert (tmp_path / "real.cdb").read_bytes() == cdb_of(src).read_bytes()


def test_hand_edited_or_corrupt_cdb_is_rebuilt(capsys, src):
    run(capsys, path=str(src), rules=RULES)
    good = cdb_of(src).read_bytes()
    cdb_of(src).write_bytes(good[:3000] + b"!" + good[3001:])
    result = run(capsys, path=str(src), rules=RULES)
    assert result["changed"] and result["cdb_rebuilt"] and not result["source_changed"]
    assert cdb_of(src).read_bytes() == good
    cdb_of(src).write_bytes(b"garbage")
    assert run(capsys, path=str(src), rules=RULES)["cdb_rebuilt"] is True
    os.unlink(str(cdb_of(src)))
    assert run(capsys, path=str(src), rules=RULES)["cdb_rebuilt"] is True
    assert cdb_of(src).read_bytes() == good


def test_hand_edited_source_is_rewritten_cdb_kept(capsys, src):
    run(capsys, path=str(src), rules=RULES)
    with open(str(src), "a") as handle:
        handle.write("10.:allow\n")
    result = run(capsys, path=str(src), rules=RULES)
    assert result["source_changed"] and not result["cdb_rebuilt"]


def test_check_mode(capsys, src):
    result = run(capsys, check=True, path=str(src), rules=RULES)
    assert result["changed"] and not src.exists() and not cdb_of(src).exists()
    run(capsys, path=str(src), rules=RULES)
    assert run(capsys, check=True, path=str(src), rules=RULES)["changed"] is False
    changed = run(capsys, check=True, path=str(src), rules=RULES[:1])
    assert changed["changed"] and changed["cdb_rebuilt"]


def test_diff_of_source_and_cdb_summary(capsys, src):
    run(capsys, path=str(src), rules=RULES)
    result = run(capsys, diff=True, path=str(src), rules=RULES[:1])
    source_diff, cdb_diff = result["diff"]
    assert "192.0.2.:allow" in source_diff["before"] and "192.0.2." not in source_diff["after"]
    assert cdb_diff["after"].startswith("1 records")
    assert cdb_diff["before_header"] == str(cdb_of(src))


def test_custom_cdb_path_and_mode(capsys, src, tmp_path):
    target = tmp_path / "rules.cdb"
    run(capsys, path=str(src), cdb=str(target), rules=RULES, mode="0640")
    assert target.exists() and oct(os.stat(str(target)).st_mode & 0o777) == "0o640"
    os.chmod(str(target), 0o644)
    result = run(capsys, path=str(src), cdb=str(target), rules=RULES, mode="0640")
    assert result["cdb_rebuilt"] and not result["source_changed"]


@pytest.mark.parametrize("rule, message", [
    (dict(match="192.0.2.1/24"), "rules[1].match: '192.0.2.1/24' has host bits set"),
    (dict(match="mail.example.com"), "rules[1].match"),
    (dict(match="1.", env={"A B": "x"}), "rules[1].env.A B"),
    # Non-ASCII digits: int() and str.isdigit() take them, tcpserver never writes them.
    (dict(match="0.0.0.\u00b2"), "rules[1].match: '0.0.0.\u00b2' contains '\u00b2'"),
    (dict(match="0.0.0.\u0660"), "rules[1].match: '0.0.0.\u0660' contains '\u0660'"),
    (dict(match="10.0.0.1-\x005"), "rules[1].match: '10.0.0.1-\\x005' contains a NUL byte"),
    (dict(match="10.0.0.1\n"), "rules[1].match: '10.0.0.1\\n' contains a NUL byte or a line break"),
    (dict(match="10.\ud800"), "rules[1].match: '10.\\ud800' contains '\\ud800'"),
    (dict(match="10.0.0.1-" + "9" * 5000), "a 5000-digit number is not a number from 0 to 255"),
    (dict(match=10 ** 30), "rules[1].match: '1000000000000000000000000000000' is neither"),
    (dict(match=127.0), "rules[1].match: '127.0' is neither a full IPv4 address nor a prefix"),
    (dict(match=["10."]), "rules[1].match: \"['10.']\" contains '['"),
    (dict(match="=mail.example.com."), "rules[1].match: '=mail.example.com.' ends with a dot"),
    (dict(match="1.", comment="caf\udce9"), "rules[1].comment: 'caf\\udce9' contains '\\udce9'"),
    (dict(match="1.", env={"X": "a\ud800"}), "rules[1].env.X: 'a\\ud800' contains '\\ud800'"),
    (dict(match="1.", env={"\ud800": "x"}), "'\\ud800' is not an environment variable name"),
    (dict(match="1.", env={"X": "a\x00b"}), "rules[1].env.X: 'a\\x00b' contains a newline or NUL"),
    (dict(match="1.", env={"X": float("nan")}), "rules[1].env.X: nan must be a string or an integer"),
    (dict(match="1.", env={"X": None}), "rules[1].env.X: None must be a string or an integer"),
    (dict(match="1.", env={5: "x"}), "rules[1].env.5: '5' is not an environment variable name"),
    (dict(match="1.", env=["X"]), "env"),
    (dict(match="1.", action="permit"), "allow, deny"),
])
def test_bad_rule_fails_and_leaves_both_files(capsys, src, rule, message):
    run(capsys, path=str(src), rules=RULES)
    before = (src.read_bytes(), cdb_of(src).read_bytes())
    result = run(capsys, path=str(src), rules=[RULES[0], rule])
    assert result["failed"] and message in result["msg"]
    assert (src.read_bytes(), cdb_of(src).read_bytes()) == before


def test_atomic_write_failure_keeps_the_old_files(capsys, src, monkeypatch):
    run(capsys, path=str(src), rules=RULES)
    before = (src.read_bytes(), cdb_of(src).read_bytes())

    def broken_rename(old, new):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io.os, "rename", broken_rename)
    result = run(capsys, path=str(src), rules=RULES[:2])
    assert result["failed"] and "No space left" in result["msg"]
    assert (src.read_bytes(), cdb_of(src).read_bytes()) == before
    assert sorted(os.listdir(str(src.parent))) == ["tcp.smtp", "tcp.smtp.cdb"]
