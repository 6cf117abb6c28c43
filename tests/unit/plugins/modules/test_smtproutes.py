# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smtproutes module end to end: file mode with credentials, masking, check and diff mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import stat
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    assert result["diff"]["before"] == ":r.example ******** ********\n"
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


SYNTAXES = ("classic", "base64", "space", "pipe")


def routes_in(syntax, user, password, internal="[192.0.2.5]"):
    """A credential route where the syntax can carry one, and a plain route."""
    plain = dict(domain="internal.example", relay=internal)
    if syntax == "classic":
        return [dict(relay="smtp.provider.example", port=587), plain]
    return [dict(relay="smtp.provider.example", port=587, username=user, password=password), plain]


def forms(*values):
    """Each value and the base64 form the Gentoo syntax writes it in."""
    return [v for value in values for v in (value, base64.b64encode(value.encode("utf-8")).decode("ascii"))]


def leaks(out, result, secrets):
    """The secrets found in the printed JSON or, for non-ASCII ones, in the decoded result."""
    decoded = json.dumps(result, ensure_ascii=False)
    return [secret for secret in secrets if secret in out or secret in decoded]


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("new", SYNTAXES)
@pytest.mark.parametrize("old", SYNTAXES)
def test_no_credential_in_any_output_when_the_syntax_changes(capsys, tmp_path, old, new, state):
    path = str(tmp_path / "smtproutes")
    seed, _out = run(capsys, path=path, syntax=old, routes=routes_in(old, "olduser-q7", "oldpass-Z9x"))
    assert seed["changed"] is True
    secrets = forms("olduser-q7", "oldpass-Z9x", "newuser-k3", "newpass-W2y")
    for check in (True, False):
        result, out = run(capsys, check=check, diff=True, path=path, syntax=new, state=state,
                          routes=routes_in(new, "newuser-k3", "newpass-W2y", "[192.0.2.6]"))
        assert result["changed"] is True, result
        assert leaks(out, result, secrets) == []
        assert result["diff"]["before"].startswith(":smtp.provider.example:587")
    if state == "present" and new != "classic":
        assert any(secret in open(path).read() for secret in forms("newpass-W2y"))


# Credentials every credential syntax can hold, each starting with a tag that nothing else printed
# holds, so that finding one in the output is a leak and never a coincidence.
CREDENTIAL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\x00|"),
                     max_size=30).map(lambda text: "Qz7-" + text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=st.sampled_from(SYNTAXES[1:]), new=st.sampled_from(SYNTAXES), state=st.sampled_from(("present", "absent")),
       old_user=CREDENTIAL, old_password=CREDENTIAL, new_user=CREDENTIAL, new_password=CREDENTIAL)
def test_no_random_credential_in_any_output(capsys, old, new, state, old_user, old_password, new_user, new_password):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "smtproutes")
        run(capsys, path=path, syntax=old, routes=routes_in(old, old_user, old_password))
        result, out = run(capsys, diff=True, path=path, syntax=new, state=state,
                          routes=routes_in(new, new_user, new_password))
    assert not result.get("failed"), result
    assert leaks(out, result, forms(old_user, old_password, new_user, new_password)) == []


@pytest.mark.parametrize("args, field", [
    (dict(routes=[dict(relay="r.example", username="u-name-1", password="top\ud800secret")]),
     "routes[0] (default route).password: ********"),
    (dict(routes=[dict(relay="r.example", username="u\udc80name", password="top-secret")]),
     "routes[0] (default route).username: ********"),
    (dict(routes=[dict(relay="r.example", username="u-name-1", password="top|secret")]),
     "routes[0] (default route).password: ********"),
    (dict(routes=[dict(domain="a\ud800.example", relay="r.example")]), ".domain: "),
    (dict(routes=[dict(relay="r.example", port=10 ** 30)]), ".port: "),
    (dict(routes=[dict(relay="r.example", port="\u0665\u0668x")]), "port"),
    (dict(routes=[dict(relay="r.example", port=float("inf"))]), "argument 'port'"),
    (dict(routes=[dict(relay="r.example", port="-Infinity")]), "argument 'port'"),
    (dict(routes=[dict(relay="r.example", port="1e999999999")]), "argument 'port'"),
    (dict(routes=[dict(relay="r.example")], mode="\u0660\u0666\u0664\u0660"), "mode "),
    (dict(routes=[dict(relay="r.example")], mode=True), "mode "),
    (dict(routes=[dict(relay="r.example")], mode=10 ** 30), "mode "),
    (dict(routes=[dict(relay="r.example")], owner="ro\ud800ot"), "user: "),
    (dict(routes=[dict(relay="r.example")], owner="99999999999999999999"), "user: "),
    (dict(routes=[dict(relay="r.example")], group="no-such-group-xyz"), "group: "),
    (dict(routes=[dict(relay="r.example")], path="/tmp/a\x00b"), "cannot read"),
    (dict(routes=[dict(relay="r.example")], path="/tmp/a\ud800b"), "cannot read"),
])
def test_bad_input_fails_by_name_without_a_traceback(capsys, tmp_path, args, field):
    args.setdefault("path", str(tmp_path / "smtproutes"))
    result, out = run(capsys, syntax="pipe", **args)
    assert result["failed"] is True and "exception" not in result, result
    assert field in result["msg"]
    assert leaks(out, result, ["secret", "u-name-1", "u\udc80name"]) == []
    assert os.listdir(str(tmp_path)) == []


# Anything a playbook could pass, lone surrogates and huge numbers included.
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                 st.lists(st.text(max_size=4), max_size=2),
                 st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2))
JUNK_ROUTE = st.fixed_dictionaries({}, optional=dict(
    domain=st.one_of(JUNK, st.sampled_from(["a.example", ".b.example"])),
    relay=st.one_of(JUNK, st.sampled_from(["r.example", "[192.0.2.1]"])),
    port=JUNK, username=JUNK, password=JUNK))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(routes=st.lists(JUNK_ROUTE, max_size=3), syntax=st.one_of(st.sampled_from(SYNTAXES), JUNK),
       mode=JUNK, owner=st.one_of(st.just("root"), JUNK), state=st.sampled_from(("present", "absent")))
def test_any_input_gives_a_result_or_a_named_failure(capsys, routes, syntax, mode, owner, state):
    with tempfile.TemporaryDirectory() as directory:
        result, _out = run(capsys, path=os.path.join(directory, "smtproutes"), routes=routes, syntax=syntax,
                           mode=mode, owner=owner, state=state, diff=True)
        assert "exception" not in result
        assert result.get("msg") if result.get("failed") else "changed" in result
        assert sorted(os.listdir(directory)) in ([], ["smtproutes"])
