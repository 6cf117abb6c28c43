# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The control module end to end on a temporary control directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest


from ansible_collections.mailops.qmail.plugins.module_utils import _io
from ansible_collections.mailops.qmail.plugins.modules import control
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module, warnings


def run(capsys, **kwargs):
    return run_module(control.main, capsys, **kwargs)


@pytest.fixture
def cdir(tmp_path):
    path = tmp_path / "control"
    path.mkdir()
    return path


FILES = {"me": "mail.example.com", "locals": ["example.com", "mail.example.com"],
         "concurrencyremote": 20, "databytes": 1000000}


def test_writes_files_reports_effects_then_is_idempotent(capsys, cdir):
    result = run(capsys, control_dir=str(cdir), files=FILES)
    assert result["changed"] is True
    assert sorted(result["changed_files"]) == sorted(FILES)
    assert result["effects"] == ["hup-send", "restart-send"]
    assert result["files"]["databytes"] == {"changed": True, "state": "present", "effect": "none"}
    assert (cdir / "locals").read_text() == "example.com\nmail.example.com\n"
    assert stat.S_IMODE(os.stat(str(cdir / "me")).st_mode) == 0o644
    again = run(capsys, control_dir=str(cdir), files=FILES)
    assert again["changed"] is False and again["changed_files"] == [] and again["effects"] == []


def test_only_changed_files_count(capsys, cdir):
    run(capsys, control_dir=str(cdir), files=FILES)
    result = run(capsys, control_dir=str(cdir), files=dict(FILES, databytes=2000000))
    assert result["changed_files"] == ["databytes"] and result["effects"] == []


def test_check_mode_predicts_and_writes_nothing(capsys, cdir):
    result = run(capsys, check=True, control_dir=str(cdir), files=FILES)
    assert result["changed"] is True and sorted(result["changed_files"]) == sorted(FILES)
    assert os.listdir(str(cdir)) == []
    run(capsys, control_dir=str(cdir), files=FILES)
    assert run(capsys, check=True, control_dir=str(cdir), files=FILES)["changed"] is False


def test_check_mode_on_a_fresh_host_without_control_dir(capsys, tmp_path):
    result = run(capsys, check=True, control_dir=str(tmp_path / "missing"), files=FILES)
    assert result["changed"] is True
    fail = run(capsys, control_dir=str(tmp_path / "missing"), files=FILES)
    assert fail["failed"] and "does not exist" in fail["msg"]


def test_mode_change_alone_is_a_change(capsys, cdir):
    run(capsys, control_dir=str(cdir), files=FILES)
    os.chmod(str(cdir / "me"), 0o600)
    result = run(capsys, control_dir=str(cdir), files=FILES)
    assert result["changed_files"] == ["me"]
    assert stat.S_IMODE(os.stat(str(cdir / "me")).st_mode) == 0o644


def test_diff_has_headers_per_file(capsys, cdir):
    (cdir / "me").write_text("old.example.com\n")
    os.chmod(str(cdir / "me"), 0o644)
    result = run(capsys, diff=True, control_dir=str(cdir), files={"me": "new.example.com", "plusdomain": "x.example"})
    diffs = dict((d["after_header"], d) for d in result["diff"])
    me = diffs[str(cdir / "me")]
    assert me["before"] == "old.example.com\n" and me["after"] == "new.example.com\n"
    assert diffs[str(cdir / "plusdomain")]["before_header"].endswith("(absent)")


def test_null_removes_and_prune_removes_catalogued_only(capsys, cdir):
    for name in ("me", "locals", "rcpthosts", "smtproutes", "custom", "morercpthosts.cdb"):
        (cdir / name).write_text("x\n")
    result = run(capsys, control_dir=str(cdir), files={"me": None}, prune=True)
    assert sorted(result["changed_files"]) == ["locals", "me", "rcpthosts"]
    assert sorted(os.listdir(str(cdir))) == ["custom", "morercpthosts.cdb", "smtproutes"]
    assert result["files"]["locals"]["state"] == "absent"
    assert run(capsys, control_dir=str(cdir), files={"me": None}, prune=True)["changed"] is False


def test_unknown_file_warns(capsys, cdir):
    result = run(capsys, control_dir=str(cdir), files={"spfbehavior": 3})
    assert result["changed"] and any("spfbehavior" in w for w in warnings(result))


def test_validation_error_writes_nothing(capsys, cdir):
    (cdir / "me").write_text("old.example.com\n")
    result = run(capsys, control_dir=str(cdir),
                 files={"me": "new.example.com", "concurrencyremote": 300})
    assert result["failed"] and "files.concurrencyremote: 300" in result["msg"]
    assert (cdir / "me").read_text() == "old.example.com\n"


def test_morercpthosts_without_newmrh_warns(capsys, cdir):
    result = run(capsys, control_dir=str(cdir), files={"morercpthosts": ["a.example"]},
                 newmrh=str(cdir / "no-such-program"))
    assert result["effects"] == ["newmrh"] and result["newmrh_ran"] is False
    assert any("morercpthosts" in w for w in warnings(result))


def test_morercpthosts_runs_newmrh(capsys, cdir, monkeypatch, tmp_path):
    monkeypatch.setattr(control, "DEFAULT_CONTROL_DIR", str(cdir))
    marker = tmp_path / "ran"
    program = tmp_path / "qmail-newmrh"
    program.write_text("#!/bin/sh\ntouch %s\n" % marker)
    os.chmod(str(program), 0o755)
    result = run(capsys, control_dir=str(cdir), files={"morercpthosts": ["a.example"]},
                 newmrh=str(program))
    assert result["newmrh_ran"] is True and marker.exists()


def test_atomic_write_failure_keeps_the_old_file(capsys, cdir, monkeypatch):
    (cdir / "me").write_text("old.example.com\n")

    def broken_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io.os, "rename", broken_rename)
    result = run(capsys, control_dir=str(cdir), files={"me": "new.example.com"})
    assert result["failed"] and "No space left" in result["msg"]
    assert (cdir / "me").read_text() == "old.example.com\n"
    assert os.listdir(str(cdir)) == ["me"]


def test_absent_morercpthosts_takes_its_cdb_along(capsys, cdir):
    (cdir / "morercpthosts").write_text("a.example\n")
    (cdir / "morercpthosts.cdb").write_bytes(b"x" * 2048)
    result = run(capsys, control_dir=str(cdir), files={"morercpthosts": None})
    assert result["changed_files"] == ["morercpthosts"] and result["effects"] == ["newmrh"]
    assert os.listdir(str(cdir)) == []


def test_errors_name_the_variable_the_user_wrote(capsys, cdir):
    result = run(capsys, control_dir=str(cdir),
                 files={"me": "mail.example.com", "databytes": "1_000"},
                 variables={"databytes": "smtpd_databytes", "me": "qmail_me"})
    assert result["failed"]
    assert result["msg"].startswith("smtpd_databytes: '1_000' is not a plain decimal number")
    assert "qmail would read 1" in result["msg"] and "files.databytes" not in result["msg"]
    result = run(capsys, control_dir=str(cdir), flavour="gentoo",
                 files={"badmailfrom": ["@spam.example", "#x"]},
                 variables={"badmailfrom": "smtpd_badmailfrom"})
    assert result["msg"].startswith("smtpd_badmailfrom[1]: '#x' would not reach qmail")
    assert os.listdir(str(cdir)) == []


@pytest.mark.parametrize("files, variables, message", [
    ({"smtpgreeting": "hello \ud800"}, None, "files.smtpgreeting: 'hello \\ud800' contains '\\ud800'"),
    ({"locals": ["ok.example", "x\udcff.example"]}, None, "files.locals[1]:"),
    ({"bad\ud800name": "x"}, None, "files: 'bad\\ud800name' contains a lone surrogate"),
    ({"databytes": 2 ** 70}, None, "files.databytes: a 71-bit number is outside 0..2147483647"),
    ({"spfbehavior": -2 ** 70}, None, "files.spfbehavior: a 71-bit number is beyond"),
    ({"databytes": 1.5}, None, "files.databytes: 1.5 is not a whole number"),
    ({"databytes": [1]}, {"databytes": "smtpd_databytes"}, "smtpd_databytes: [1]: databytes holds one value"),
    ({"me": {"a": 1}}, None, "files.me: {'a': 1}: me holds one value"),
    ({"locals": [None]}, None, "files.locals[0]: None must be a string"),
    ({"me": "a.example"}, {"me": 5}, "variables: {'me': 5} must map control file names"),
])
def test_wrong_values_fail_without_a_traceback(capsys, cdir, files, variables, message):
    args = dict(control_dir=str(cdir), files=files)
    if variables is not None:
        args["variables"] = variables
    result = run(capsys, **args)
    assert result["failed"] and message in result["msg"]
    assert os.listdir(str(cdir)) == []


def test_a_surrogate_in_a_top_level_option_is_refused_cleanly(capsys, tmp_path):
    # AnsibleModule's own argument logging used to raise UnicodeEncodeError before the module ran.
    result = run(capsys, control_dir=str(tmp_path / "\udcff"), files={"me": "mx.example.org"})
    assert result["failed"] and "control_dir" in result["msg"]
    assert list(tmp_path.iterdir()) == []
