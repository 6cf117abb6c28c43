# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The supervise module's behaviour, driven through its core class on a temporary tree.

A fake runner stands in for svok/svstat/svc: it records every command and answers with the
supervise state each test sets up, so the tests read as the rules of when supervise is signalled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pathlib
import pwd
import stat
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils.supervise import SHELLS, Service, SuperviseError
from ansible_collections.mailops.qmail.plugins.modules import supervise
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GID = pwd.getpwuid(os.getuid()).pw_gid


class FakeRunner(object):
    """svok answers 0 for supervised dirs; svstat answers 'up' or 'down' per dir; shells run for
    real, so that `sh -n` judges the scripts."""

    def __init__(self, supervised=(), up=(), tools=True):
        self.supervised = set(supervised)
        self.up = set(up)
        self.tools = tools
        self.calls = []

    def which(self, name):
        return "/usr/bin/%s" % name if self.tools else None

    def run(self, argv):
        self.calls.append(argv)
        tool, path = os.path.basename(argv[0]), argv[-1]
        if tool in SHELLS:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            return done.returncode, done.stdout, done.stderr
        if tool == "svok":
            return (0 if path in self.supervised else 100), "", ""
        if tool == "svstat":
            if path not in self.supervised:
                return 0, "%s: supervise not running\n" % path, ""
            return 0, "%s: %s\n" % (path, "up (pid 7) 9 seconds" if path in self.up else "down 9 seconds"), ""
        return 0, "", ""

    def svc_calls(self):
        return [argv[1:] for argv in self.calls if os.path.basename(argv[0]) == "svc"]


@pytest.fixture
def tree(tmp_path):
    scan = tmp_path / "service"
    scan.mkdir()
    return tmp_path


def params(tree, **overrides):
    base = dict(name="qmail-send", service_dir=str(tree / "supervise" / "qmail-send"),
                scan_dir=str(tree / "service"), run="#!/bin/sh\nexec /var/qmail/rc\n",
                log=True, log_dir=str(tree / "log" / "qmail-send"), log_user=ME, log_size=2500000,
                log_count=10, env=None, secret_env=[], enabled=True, down=False, restart=True,
                state="present")
    base.update(overrides)
    return base


def converge(tree, runner=None, check_mode=False, **overrides):
    service = Service(params(tree, **overrides), runner or FakeRunner(), check_mode=check_mode)
    return service, service.run()


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_fresh_service_gets_run_log_link_and_log_dir(tree):
    service, result = converge(tree)
    sdir = tree / "supervise" / "qmail-send"
    assert result["changed"] is True
    assert (sdir / "run").read_text() == "#!/bin/sh\nexec /var/qmail/rc\n"
    assert mode(sdir / "run") == 0o755
    assert (sdir / "log" / "run").read_text() == (
        "#!/bin/sh\nexec setuidgid %s multilog t s2500000 n10 %s\n" % (ME, tree / "log" / "qmail-send"))
    assert mode(sdir / "log" / "run") == 0o755
    assert os.readlink(str(tree / "service" / "qmail-send")) == str(sdir)
    assert mode(tree / "log" / "qmail-send") == 0o750
    assert os.stat(str(tree / "log" / "qmail-send")).st_gid == MY_GID
    assert not (sdir / "down").exists()
    assert result["restarted"] is False


def test_second_run_changes_nothing_and_sends_no_signal(tree):
    converge(tree)
    runner = FakeRunner(supervised=[str(tree / "supervise" / "qmail-send")],
                        up=[str(tree / "supervise" / "qmail-send")])
    service, result = converge(tree, runner)
    assert result["changed"] is False, service.changes
    assert runner.svc_calls() == []
    assert result["running"] is True


def test_check_mode_on_fresh_host_reports_changes_and_writes_nothing(tree):
    service, result = converge(tree, check_mode=True)
    assert result["changed"] is True
    assert not (tree / "supervise").exists()
    assert not os.path.lexists(str(tree / "service" / "qmail-send"))
    assert [d["after_header"] for d in service.diff if "run" in d["after_header"]]


def test_check_mode_with_missing_log_user_warns_instead_of_failing(tree):
    service, result = converge(tree, check_mode=True, log_user="no-such-user-xyz")
    assert result["changed"] is True
    assert "no-such-user-xyz" in service.warnings[0]


def test_missing_log_user_fails_with_its_name(tree):
    with pytest.raises(SuperviseError, match="log_user 'no-such-user-xyz' does not exist"):
        converge(tree, log_user="no-such-user-xyz")


def test_changed_run_restarts_only_a_supervised_service(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir], up=[sdir])
    dummy, result = converge(tree, runner, run="#!/bin/sh\nexec /var/qmail/rc2\n")
    assert runner.svc_calls() == [["-t", sdir]]
    assert result["restarted"] is True


def test_changed_run_of_unsupervised_service_sends_nothing(tree):
    converge(tree)
    runner = FakeRunner()
    dummy, result = converge(tree, runner, run="#!/bin/sh\nexec /var/qmail/rc2\n")
    assert result["changed"] is True
    assert runner.svc_calls() == []
    assert result["restarted"] is False


def test_restart_false_keeps_the_process(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir], up=[sdir])
    converge(tree, runner, run="#!/bin/sh\nexec true\n", restart=False)
    assert runner.svc_calls() == []


def test_check_mode_predicts_restart_without_signalling(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir], up=[sdir])
    dummy, result = converge(tree, runner, check_mode=True, run="#!/bin/sh\nexec true\n")
    assert result["restarted"] is True
    assert runner.svc_calls() == []
    assert (tree / "supervise" / "qmail-send" / "run").read_text() == "#!/bin/sh\nexec /var/qmail/rc\n"


def test_changed_log_settings_restart_only_the_logger(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir, sdir + "/log"], up=[sdir, sdir + "/log"])
    converge(tree, runner, log_count=20)
    assert runner.svc_calls() == [["-t", sdir + "/log"]]
    assert "n20" in (tree / "supervise" / "qmail-send" / "log" / "run").read_text()


def test_env_files_secret_masked_and_stale_removed(tree):
    service, result = converge(tree, env={"LEVEL": 2, "TOKEN": "s3cret", "EMPTY": ""}, secret_env=["TOKEN"])
    env = tree / "supervise" / "qmail-send" / "env"
    assert (env / "LEVEL").read_text() == "2\n"
    assert (env / "EMPTY").read_text() == "\n"
    assert (env / "TOKEN").read_text() == "s3cret\n"
    assert mode(env / "TOKEN") == 0o600
    assert mode(env / "LEVEL") == 0o644
    assert "s3cret" not in repr(service.diff)
    dummy, result = converge(tree, env={"LEVEL": 2})
    assert sorted(os.listdir(str(env))) == ["LEVEL"]
    assert result["changed"] is True


def test_env_none_leaves_env_dir_alone(tree):
    converge(tree, env={"A": "1"})
    service, result = converge(tree, env=None)
    assert result["changed"] is False
    assert (tree / "supervise" / "qmail-send" / "env" / "A").exists()


def test_env_change_restarts_supervised_service(tree):
    converge(tree, env={"A": "1"})
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir], up=[sdir])
    converge(tree, runner, env={"A": "2"})
    assert runner.svc_calls() == [["-t", sdir]]


def test_down_file_added_stops_a_running_service(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir], up=[sdir])
    dummy, result = converge(tree, runner, down=True)
    assert (tree / "supervise" / "qmail-send" / "down").exists()
    assert runner.svc_calls() == [["-d", sdir]]


def test_down_file_removed_starts_the_service(tree):
    converge(tree, down=True)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir])
    converge(tree, runner, down=False)
    assert not (tree / "supervise" / "qmail-send" / "down").exists()
    assert runner.svc_calls() == [["-u", sdir]]


def test_down_service_is_not_restarted_when_run_changes(tree):
    converge(tree, down=True)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir])
    converge(tree, runner, down=True, run="#!/bin/sh\nexec true\n")
    assert runner.svc_calls() == []


def test_down_reason_is_written_and_updated_without_signals(tree):
    converge(tree, down=True, down_reason="qmail is not installed")
    down = tree / "supervise" / "qmail-send" / "down"
    assert down.read_text() == "qmail is not installed\n"
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir])
    dummy, result = converge(tree, runner, down=True, down_reason="waiting for a certificate")
    assert result["changed"] and down.read_text() == "waiting for a certificate\n"
    assert runner.svc_calls() == [], "a new reason is no reason to signal a service that is down"
    dummy, result = converge(tree, runner, down=True, down_reason="waiting for a certificate")
    assert not result["changed"]


def test_disabled_service_is_stopped_before_unlinking(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir, sdir + "/log"], up=[sdir])
    dummy, result = converge(tree, runner, enabled=False)
    assert not os.path.lexists(str(tree / "service" / "qmail-send"))
    assert runner.svc_calls() == [["-dx", sdir], ["-dx", sdir + "/log"]]


def test_link_pointing_elsewhere_is_replaced(tree):
    os.symlink("/nowhere", str(tree / "service" / "qmail-send"))
    service, result = converge(tree)
    assert os.readlink(str(tree / "service" / "qmail-send")) == str(tree / "supervise" / "qmail-send")
    assert any(d["before"] == "-> /nowhere\n" for d in service.diff)


def test_real_directory_in_scan_dir_is_refused(tree):
    (tree / "service" / "qmail-send").mkdir()
    with pytest.raises(SuperviseError, match="is not a symbolic link"):
        converge(tree)


def test_missing_scan_dir_is_reported(tree):
    with pytest.raises(SuperviseError, match="scan_dir .* does not exist"):
        converge(tree, scan_dir=str(tree / "nope"))


def test_log_false_removes_the_logger(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir + "/log"])
    converge(tree, runner, log=False)
    assert not (tree / "supervise" / "qmail-send" / "log").exists()
    assert runner.svc_calls() == [["-dx", sdir + "/log"]]
    assert (tree / "log" / "qmail-send").is_dir(), "logs are data and stay"


def test_absent_stops_unlinks_and_removes_service_dir(tree):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir, sdir + "/log"])
    dummy, result = converge(tree, runner, state="absent", run=None)
    assert result["changed"] is True
    assert not os.path.lexists(str(tree / "service" / "qmail-send"))
    assert not os.path.exists(sdir)
    assert ["-dx", sdir] in runner.svc_calls()
    dummy, result = converge(tree, FakeRunner(), state="absent", run=None)
    assert result["changed"] is False


@pytest.mark.parametrize("state, flag", [("restarted", "-t"), ("reloaded", "-h")])
def test_signal_states_only_touch_supervised_services(tree, state, flag):
    converge(tree)
    sdir = str(tree / "supervise" / "qmail-send")
    runner = FakeRunner(supervised=[sdir], up=[sdir])
    dummy, result = converge(tree, runner, state=state, run=None)
    assert runner.svc_calls() == [[flag, sdir]]
    assert result["changed"] is True
    idle = FakeRunner()
    dummy, result = converge(tree, idle, state=state, run=None)
    assert idle.svc_calls() == [] and result["changed"] is False


def test_without_daemontools_running_is_unknown(tree):
    dummy, result = converge(tree, FakeRunner(tools=False))
    assert result["running"] is None
    assert result["changed"] is True


def test_wrong_mode_on_run_script_is_fixed(tree):
    converge(tree)
    run = tree / "supervise" / "qmail-send" / "run"
    os.chmod(str(run), 0o644)
    dummy, result = converge(tree)
    assert result["changed"] is True
    assert mode(run) == 0o755


def test_group_of_log_dir_follows_the_log_user(tree):
    converge(tree)
    assert grp.getgrgid(os.stat(str(tree / "log" / "qmail-send")).st_gid).gr_gid == MY_GID


def files_in(directory):
    return sorted(os.listdir(str(directory)))


def test_run_script_the_shell_refuses_leaves_the_old_one_and_no_temporary_file(tree):
    converge(tree)
    sdir = tree / "supervise" / "qmail-send"
    runner = FakeRunner(supervised=[str(sdir)], up=[str(sdir)])
    before = files_in(sdir)
    with pytest.raises(SuperviseError) as info:
        converge(tree, runner, run="#!/bin/sh\nif true; then\nexec /var/qmail/rc\n")
    message = str(info.value)
    assert "-n` refuses the new script" in message and str(sdir / "run") in message
    assert "/.run." not in message, "the error names the file, not the temporary file"
    assert (sdir / "run").read_text() == "#!/bin/sh\nexec /var/qmail/rc\n"
    assert files_in(sdir) == before
    assert runner.svc_calls() == []


def test_fresh_service_with_a_broken_run_script_gets_no_run_file(tree):
    with pytest.raises(SuperviseError, match="refuses the new script"):
        converge(tree, run="#!/bin/sh\ncase x in\n")
    assert files_in(tree / "supervise" / "qmail-send") == []


def test_shell_check_follows_env_and_leaves_other_languages_alone(tree):
    with pytest.raises(SuperviseError, match="refuses the new script"):
        converge(tree, run="#!/usr/bin/env sh\nfi\n")
    converge(tree, run="#!/usr/bin/perl\nfi\n")
    assert (tree / "supervise" / "qmail-send" / "run").read_text() == "#!/usr/bin/perl\nfi\n"


def test_run_script_whose_shell_is_missing_is_refused(tree):
    with pytest.raises(SuperviseError, match="the shell /nonexistent/bash named on its #! line is not installed"):
        converge(tree, run="#!/nonexistent/bash\nexec true\n")


def test_check_mode_does_not_run_the_shell(tree):
    runner = FakeRunner()
    dummy, result = converge(tree, runner, check_mode=True, run="#!/bin/sh\nfi\n")
    assert result["changed"] is True
    assert [argv for argv in runner.calls if os.path.basename(argv[0]) in SHELLS] == []


def test_log_dir_with_a_space_gives_a_log_script_the_shell_accepts(tree):
    log_dir = tree / "log" / "qmail send"
    converge(tree, log_dir=str(log_dir))
    script = (tree / "supervise" / "qmail-send" / "log" / "run").read_text()
    assert script.endswith(" n10 '%s'\n" % log_dir)
    done = subprocess.run(["/bin/sh", "-c", script.split("\n")[1].replace("exec setuidgid", "printf '%s\\n'")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == str(log_dir)


def test_env_value_envdir_would_misread_is_refused_before_anything_is_written(tree):
    with pytest.raises(SuperviseError, match="env.LEVEL: '2 '"):
        converge(tree, env={"LEVEL": "2 "})
    assert not (tree / "supervise").exists()


def run_supervise(capsys, tree, **args):
    base = dict(name="qmail-send", service_dir=str(tree / "supervise" / "qmail-send"),
                scan_dir=str(tree / "service"), run="#!/bin/sh\nexec /var/qmail/rc\n",
                log_user=ME, log_dir=str(tree / "log" / "qmail-send"), owner=None, group=None)
    base.update(args)
    return run_module(supervise.main, capsys, raw=True, **base)


def test_module_converges_and_masks_secret_env(capsys, tree):
    result, out = run_supervise(capsys, tree, diff=True, env={"TOKEN": "s3cret-value", "LEVEL": 2},
                                secret_env=["TOKEN"])
    assert result["changed"] is True and "failed" not in result
    assert "s3cret-value" not in out
    assert (tree / "supervise" / "qmail-send" / "env" / "TOKEN").read_text() == "s3cret-value\n"


@pytest.mark.parametrize("args, message", [
    (dict(run="#!/bin/sh\nexec \ud800\n"), "run: "),
    (dict(run="#!/bin/sh\nif\n"), "refuses the new script"),
    (dict(env={"A": "\udc80"}), "env.A: "),
    (dict(env={"TOKEN": "s3cret-value\n"}, secret_env=["TOKEN"]), "env.TOKEN: ********"),
    (dict(env={"TOKEN": "s3cret-value\ud800"}, secret_env=["TOKEN"]), "env.TOKEN: ********"),
    (dict(env={"A": True}), "env.A: True"),
    (dict(env={"A": {"b": 1}}), "env.A: "),
    (dict(env={"A=B": "1"}), "env: 'A=B'"),
    (dict(log_size=10 ** 30), "log_size: "),
    (dict(log_count=1), "log_count: 1"),
    (dict(log_count=float("-inf")), "argument 'log_count'"),
    (dict(log_size="1e999999999"), "argument 'log_size'"),
    (dict(down=True, down_reason="\ud800"), "down_reason: "),
    (dict(scan_dir="/srv/\ud800"), "scan_dir: "),
    (dict(service_dir="/srv/a\x00b"), "service_dir: "),
    (dict(name="a/b"), "name: "),
])
def test_module_bad_input_fails_by_name_without_a_traceback(capsys, tree, args, message):
    result, out = run_supervise(capsys, tree, **args)
    assert result["failed"] is True and "exception" not in result, result
    assert message in result["msg"]
    assert "s3cret-value" not in json.dumps(result, ensure_ascii=False)
    assert not (tree / "supervise" / "qmail-send" / "run").exists()


# Anything a playbook could pass, lone surrogates and huge numbers included.
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                 st.lists(st.text(max_size=4), max_size=2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run=st.one_of(JUNK, st.text(max_size=20).map(lambda text: "#!/bin/sh\n" + text)),
       env=st.one_of(st.none(), st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(["A", "TOKEN"])),
                                                JUNK, max_size=3)),
       secret_env=st.lists(st.sampled_from(["A", "TOKEN"]), max_size=2, unique=True),
       name=st.one_of(st.just("qmail-send"), JUNK), log_size=st.one_of(st.just(4096), JUNK),
       log_count=st.one_of(st.just(2), JUNK), down_reason=JUNK)
def test_any_input_gives_a_result_or_a_named_failure(capsys, run, env, secret_env, name, log_size, log_count,
                                                     down_reason):
    with tempfile.TemporaryDirectory() as directory:
        tree = pathlib.Path(directory)
        (tree / "service").mkdir()
        result, _out = run_supervise(capsys, tree, diff=True, run=run, env=env, secret_env=secret_env, name=name,
                                     log_size=log_size, log_count=log_count, down_reason=down_reason, down=True)
        assert "exception" not in result
        assert result.get("msg") if result.get("failed") else "changed" in result
