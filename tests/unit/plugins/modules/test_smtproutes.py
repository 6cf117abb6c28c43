# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smtproutes module end to end: file mode with credentials, masking, check and diff mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest


from ansible_collections.mailops.qmail.plugins.module_utils import _io
from ansible_collections.mailops.qmail.plugins.modules import smtproutes
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module, warnings

SECRET = "pa55word-xyz"


def run(capsys, **kwargs):
    return run_module(smtproutes.main, capsys, raw=True, **kwargs)


def auth_routes(password=SECRET):
    return [dict(relay="smtp.provider.example", port=587, username="mailer", password=password),
            dict(domain="internal.example", relay="[192.0.2.5]")]


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.mark.parametrize("flavour, line", [
    ("gentoo", ":smtp.provider.example:587 bWFpbGVy cGE1NXdvcmQteHl6\n"),
    ("jms", ":smtp.provider.example:587 mailer pa55word-xyz\n"),
    ("sagredo", ":smtp.provider.example:587|mailer|pa55word-xyz\n"),
])
def test_credentials_file_is_0640_and_secret_free_output(capsys, tmp_path, flavour, line):
    path = tmp_path / "smtproutes"
    result, out = run(capsys, diff=True, path=str(path), flavour=flavour, routes=auth_routes())
    assert result["changed"] is True
    assert path.read_text() == line + "internal.example:[192.0.2.5]\n"
    assert mode(path) == 0o640
    assert SECRET not in out and "cGE1NXdvcmQteHl6" not in out
    assert result["routes"][0]["password"] == "********"
    again, _out = run(capsys, path=str(path), flavour=flavour, routes=auth_routes())
    assert again["changed"] is False


def test_classic_routes_are_0644(capsys, tmp_path):
    path = tmp_path / "smtproutes"
    result, _out = run(capsys, path=str(path), routes=[dict(relay="relay.example")])
    assert result["syntax"] == "classic" and path.read_text() == ":relay.example\n"
    assert mode(path) == 0o644


def test_credentials_in_classic_fail_and_leave_the_file(capsys, tmp_path):
    path = tmp_path / "smtproutes"
    path.write_text(":old.example\n")
    result, out = run(capsys, path=str(path), flavour="notqmail", routes=auth_routes())
    assert result["failed"] and "credentials need" in result["msg"]
    assert SECRET not in out
    assert path.read_text() == ":old.example\n"


def test_requested_mode_is_overridden_with_credentials(capsys, tmp_path):
    path = tmp_path / "smtproutes"
    result, _out = run(capsys, path=str(path), syntax="space", mode="0644", routes=auth_routes())
    assert mode(path) == 0o640 and any("0640" in w for w in warnings(result))


def test_password_change_is_a_change_with_masked_diff(capsys, tmp_path):
    path = tmp_path / "smtproutes"
    run(capsys, path=str(path), flavour="jms", routes=auth_routes())
    result, out = run(capsys, diff=True, path=str(path), flavour="jms", routes=auth_routes("new-one"))
    assert result["changed"] is True
    assert "new-one" not in out and SECRET not in out
    assert result["diff"]["after_header"].endswith("(credentials changed)")
    assert "new-one" in path.read_text()


def test_check_mode(capsys, tmp_path):
    path = tmp_path / "smtproutes"
    result, _out = run(capsys, check=True, path=str(path), flavour="jms", routes=auth_routes())
    assert result["changed"] is True and not path.exists()
    run(capsys, path=str(path), flavour="jms", routes=auth_routes())
    assert run(capsys, check=True, path=str(path), flavour="jms", routes=auth_routes())[0]["changed"] is False


def test_state_absent(capsys, tmp_path):
    path = tmp_path / "smtproutes"
    path.write_text(":r.example u p\n")
    result, out = run(capsys, diff=True, path=str(path), flavour="jms", state="absent")
    assert result["changed"] and not path.exists()
    assert " p\n" not in out
    assert run(capsys, path=str(path), state="absent")[0]["changed"] is False


def test_syntax_and_flavour_are_exclusive(capsys, tmp_path):
    result, _out = run(capsys, path=str(tmp_path / "s"), syntax="pipe", flavour="gentoo", routes=[])
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_duplicate_domain_names_the_route(capsys, tmp_path):
    routes = [dict(domain="a.example", relay="x"), dict(domain="a.example", relay="y")]
    result, _out = run(capsys, path=str(tmp_path / "s"), routes=routes)
    assert result["failed"] and "routes[1] (a.example)" in result["msg"]


def test_atomic_write_failure_keeps_the_old_file(capsys, tmp_path, monkeypatch):
    path = tmp_path / "smtproutes"
    path.write_text(":old.example\n")

    def broken_rename(src, dst):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(_io.os, "rename", broken_rename)
    result, _out = run(capsys, path=str(path), routes=[dict(relay="new.example")])
    assert result["failed"] and path.read_text() == ":old.example\n"
    assert os.listdir(str(tmp_path)) == ["smtproutes"]
