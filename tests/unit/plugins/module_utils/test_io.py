# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/_io.py: the one atomic write path never leaves a temporary file or a half-written
target, whatever fails, and every failure is a FileWriteError naming the file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import _io

OLD = b"old content\n"
NEW = b"new content\n"


class Boom(Exception):
    """Stands for any unexpected error raised in the middle of a write."""


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "smtproutes"
    path.write_bytes(OLD)
    os.chmod(str(path), 0o644)
    return path


def listing(path):
    return sorted(os.listdir(str(path.parent)))


def open_fds():
    return sorted(os.listdir("/proc/self/fd"))


def test_write_replaces_content_and_sets_mode(target):
    _io.write_atomic(str(target), NEW, mode="0640")
    assert target.read_bytes() == NEW
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640
    assert listing(target) == ["smtproutes"]


def test_existing_mode_is_kept_when_none_is_asked(target):
    _io.write_atomic(str(target), NEW)
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o644


@pytest.mark.parametrize("step", ["fchmod", "fsync", "chown", "chmod", "rename"])
@pytest.mark.parametrize("error, expected", [
    (OSError(28, "No space left on device"), _io.FileWriteError),
    (TypeError("unexpected type"), _io.FileWriteError),
    (ValueError("bad value"), _io.FileWriteError),
    (Boom("anything"), _io.FileWriteError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])
def test_a_failing_step_leaves_the_old_file_and_no_temporary_file(target, monkeypatch, step, error, expected):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(_io.os, step, fail)
    before, fds = listing(target), open_fds()
    with pytest.raises(expected) as info:
        _io.write_atomic(str(target), NEW, owner=os.getuid(), group=os.getgid(), mode="0640")
    assert listing(target) == before
    assert target.read_bytes() == OLD
    assert open_fds() == fds
    if expected is _io.FileWriteError:
        assert str(target) in str(info.value)


def test_a_failing_fdopen_closes_the_descriptor(target, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(_io.os, "fdopen", fail)
    before, fds = listing(target), open_fds()
    with pytest.raises(_io.FileWriteError):
        _io.write_atomic(str(target), NEW)
    assert listing(target) == before and open_fds() == fds


def test_temporary_file_creation_failure_is_a_file_write_error(target, monkeypatch):
    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_io.tempfile, "mkstemp", fail)
    with pytest.raises(_io.FileWriteError, match="Permission denied"):
        _io.write_atomic(str(target), NEW)
    assert listing(target) == ["smtproutes"]


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(_io.FileWriteError, match="directory .*missing does not exist"):
        _io.write_atomic(str(tmp_path / "missing" / "file"), NEW)


def test_content_must_be_bytes(target):
    with pytest.raises(_io.FileWriteError, match="str, not bytes"):
        _io.write_atomic(str(target), NEW.decode())
    assert listing(target) == ["smtproutes"]


def test_check_sees_the_new_content_and_its_refusal_keeps_the_old_file(target):
    seen = []

    def refuse(tmp):
        seen.append((os.path.dirname(tmp), open(tmp, "rb").read(), stat.S_IMODE(os.stat(tmp).st_mode)))
        raise _io.FileWriteError("refused by the check")

    with pytest.raises(_io.FileWriteError, match="^refused by the check$"):
        _io.write_atomic(str(target), NEW, mode="0644", check=refuse)
    assert seen == [(str(target.parent), NEW, 0o600)]
    assert target.read_bytes() == OLD and listing(target) == ["smtproutes"]


def test_check_that_crashes_is_a_file_write_error_and_cleans_up(target):
    def crash(tmp):
        raise TypeError("a bug in the check")

    with pytest.raises(_io.FileWriteError, match="a bug in the check"):
        _io.write_atomic(str(target), NEW, check=crash)
    assert target.read_bytes() == OLD and listing(target) == ["smtproutes"]


def test_check_that_accepts_lets_the_write_happen(target):
    _io.write_atomic(str(target), NEW, check=lambda tmp: None)
    assert target.read_bytes() == NEW and listing(target) == ["smtproutes"]


@pytest.mark.parametrize("mode, expected", [
    (None, None), ("0640", 0o640), ("640", 0o640), ("0o640", 0o640), ("7777", 0o7777), ("07777", 0o7777),
    (0o600, 0o600), (0, 0),
])
def test_parse_mode_accepts(mode, expected):
    assert _io.parse_mode(mode) == expected


@pytest.mark.parametrize("mode", [
    "\u0660\u0666\u0664\u0660", "0x1a0", "u=rw", "8", "0o8", "10000", "", " 640", True, -1, 0o10000, 10 ** 30,
    6.4, [],
])
def test_parse_mode_refuses_with_the_value(mode):
    with pytest.raises(_io.FileWriteError, match="mode .* is not an octal mode such as '0640'"):
        _io.parse_mode(mode)


@pytest.mark.parametrize("owner, message", [
    ("\u00b2", "does not exist"),
    (2 ** 32 - 1, "outside the ids"),
    ("99999999999999999999", "outside the ids"),
    (-1, "outside the ids"),
    (True, "neither a name nor a number"),
    (1.5, "neither a name nor a number"),
    ("ro\x00ot", "not a valid name"),
    ("r\ud800oot", "not a valid name"),
    ("no-such-user-xyz", "an existing user name or a numeric id is accepted"),
])
def test_resolve_uid_refuses_with_the_field(owner, message):
    with pytest.raises(_io.FileWriteError) as info:
        _io.resolve_uid(owner)
    assert str(info.value).startswith("user: ") and message in str(info.value)


def test_resolve_ids_accept_names_and_numbers():
    assert _io.resolve_uid("root") == 0 and _io.resolve_uid("0") == 0 and _io.resolve_uid(7) == 7
    assert _io.resolve_gid("0") == 0 and _io.resolve_gid(None) is None
    with pytest.raises(_io.FileWriteError, match="^group: "):
        _io.resolve_gid("no-such-group-xyz")


def test_read_bytes(tmp_path):
    assert _io.read_bytes(str(tmp_path / "absent")) is None
    for path in (str(tmp_path), str(tmp_path) + "/a\x00b"):
        with pytest.raises(_io.FileWriteError, match="cannot read"):
            _io.read_bytes(path)


def test_remove(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    assert _io.remove(str(tmp_path / "f")) is True
    assert _io.remove(str(tmp_path / "f")) is False
    with pytest.raises(_io.FileWriteError, match="cannot remove"):
        _io.remove(str(tmp_path))


def test_set_attributes_failure_is_a_file_write_error(tmp_path):
    with pytest.raises(_io.FileWriteError, match="cannot set owner/mode"):
        _io.set_attributes(str(tmp_path / "absent"), mode="0644")


@pytest.mark.parametrize("path", ["relative/path", "", "/a\x00b", "/a\ud800b", None, 5])
def test_check_path_refuses_with_the_field(path):
    with pytest.raises(_io.FileWriteError) as info:
        _io.check_path(path, "scan_dir")
    assert str(info.value).startswith("scan_dir: ")


def test_check_path_accepts_absolute_text():
    assert _io.check_path("/etc/service", "scan_dir") == "/etc/service"
