# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One atomic write path for every module of the collection.

Files are written to a temporary file in the target's own directory (so the final rename stays on
one file system and is atomic), owner, group and mode are set on the temporary file *before* the
rename, and the temporary file is removed on any error: a reader sees the old file or the new one,
never a half-written or wrongly-permissioned one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import re
import stat
import tempfile


class FileWriteError(Exception):
    """Raised when a file cannot be written; the target is left as it was."""


_NUMBER = re.compile(r"\A[0-9]+\Z")
_OCTAL = re.compile(r"\A(?:0[oO])?[0-7]{1,5}\Z")
# chown(2) takes a 32-bit id and reserves the all-ones value for "leave unchanged".
_MAX_ID = 2 ** 32 - 2


def _account_id(value, field, lookup, id_attribute):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FileWriteError("%s: %r is neither a name nor a number" % (field, value))
    if isinstance(value, int) or _NUMBER.match(value):
        number = int(value)
        if not 0 <= number <= _MAX_ID:
            raise FileWriteError("%s: %r is outside the ids 0..%d" % (field, value, _MAX_ID))
        return number
    try:
        return getattr(lookup(value), id_attribute)
    except KeyError:
        raise FileWriteError("%s: %r does not exist; an existing %s name or a numeric id is accepted"
                             % (field, value, field))
    except ValueError:
        # A NUL or a lone surrogate: no account database can hold that name.
        raise FileWriteError("%s: %r is not a valid name (text without NUL)" % (field, value))


def resolve_uid(owner):
    """Return the numeric uid for a user name or number, or None when owner is None."""
    return _account_id(owner, "user", pwd.getpwnam, "pw_uid")


def resolve_gid(group):
    """Return the numeric gid for a group name or number, or None when group is None."""
    return _account_id(group, "group", grp.getgrnam, "gr_gid")


def parse_mode(mode):
    """Accept 0o640, '0640', '640' or '0o640' and return an int, or None."""
    if mode is None:
        return None
    if isinstance(mode, str) and _OCTAL.match(mode):
        number = int(mode, 8)
    else:
        number = mode
    if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= 0o7777:
        return number
    raise FileWriteError("mode %r is not an octal mode such as '0640' (0000..7777)" % (mode,))


def _path_error(path, action, exc):
    return FileWriteError("cannot %s %r: %s" % (action, path, exc))


def check_path(value, field):
    """An absolute path the OS can take: text without NUL that encodes to UTF-8."""
    if not isinstance(value, str) or not value.startswith("/") or "\x00" in value:
        raise FileWriteError("%s: %r is not an absolute path (text starting with '/', without NUL)"
                             % (field, value))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FileWriteError("%s: %r is not valid UTF-8 text (it holds a lone surrogate); an "
                             "absolute path in UTF-8 is accepted" % (field, value))
    return value


def read_bytes(path):
    """Return the file's content, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _path_error(path, "read", exc)


def attributes_differ(path, owner=None, group=None, mode=None):
    """Tell whether an existing file's owner, group or mode differ from the wanted ones.

    Unset wishes (None) never count as a difference. A missing file differs.
    """
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return True
    uid, gid, perm = resolve_uid(owner), resolve_gid(group), parse_mode(mode)
    return ((uid is not None and st.st_uid != uid)
            or (gid is not None and st.st_gid != gid)
            or (perm is not None and stat.S_IMODE(st.st_mode) != perm))


def write_atomic(path, content, owner=None, group=None, mode=None, check=None):
    """Write content (bytes) to path atomically with the given owner, group and mode.

    When owner/group/mode are None, an existing file's values are kept; a new file gets
    root's defaults (the process umask applied to 0666). check, when given, is called with the
    temporary file's path once the content is on disk and before anything replaces path (as
    `validate:` in ansible.builtin.template) and refuses by raising FileWriteError. Every failure
    comes out as a FileWriteError (KeyboardInterrupt and SystemExit as themselves), path stays as
    it was and no temporary file outlives the call.
    """
    if not isinstance(content, bytes):
        raise FileWriteError("cannot write %r: the content is %s, not bytes"
                             % (path, type(content).__name__))
    uid, gid, perm = resolve_uid(owner), resolve_gid(group), parse_mode(mode)
    try:
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise FileWriteError("cannot write %r: directory %s does not exist" % (path, directory))
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None:
            uid = current.st_uid if uid is None else uid
            gid = current.st_gid if gid is None else gid
            perm = stat.S_IMODE(current.st_mode) if perm is None else perm
        if perm is None:
            umask = os.umask(0)
            os.umask(umask)
            perm = 0o666 & ~umask
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except (OSError, ValueError) as exc:
        raise _path_error(path, "write", exc)
    written = False
    try:
        try:
            # Restrict first: the temporary file must never be more readable than the result.
            os.fchmod(fd, 0o600)
            handle = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
        if uid is not None or gid is not None:
            os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(tmp, perm)
        os.rename(tmp, path)
        written = True
    except FileWriteError:
        raise
    except Exception as exc:
        raise _path_error(path, "write", exc)
    finally:
        if not written:
            _discard(tmp)


def _discard(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


def set_attributes(path, owner=None, group=None, mode=None):
    """Bring an existing file's owner, group and mode to the wanted values."""
    uid, gid, perm = resolve_uid(owner), resolve_gid(group), parse_mode(mode)
    try:
        if uid is not None or gid is not None:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        if perm is not None:
            os.chmod(path, perm)
    except (OSError, ValueError) as exc:
        raise _path_error(path, "set owner/mode of", exc)


def remove(path):
    """Remove a file if it exists; return True when something was removed."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise _path_error(path, "remove", exc)


def text_diff(path, before, after):
    """A diff entry in Ansible's format for a text file: whole text with headers."""
    return {
        "before_header": path if before is not None else "%s (absent)" % path,
        "after_header": path if after is not None else "%s (absent)" % path,
        "before": "" if before is None else before,
        "after": "" if after is None else after,
    }
