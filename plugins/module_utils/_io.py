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
import stat
import tempfile


class FileWriteError(Exception):
    """Raised when a file cannot be written; the target is left as it was."""


def resolve_uid(owner):
    """Return the numeric uid for a user name or number, or None when owner is None."""
    if owner is None:
        return None
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise FileWriteError("user %r does not exist" % owner)


def resolve_gid(group):
    """Return the numeric gid for a group name or number, or None when group is None."""
    if group is None:
        return None
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise FileWriteError("group %r does not exist" % group)


def parse_mode(mode):
    """Accept 0o640, '0640' or '640' and return an int, or None."""
    if mode is None:
        return None
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise FileWriteError("mode %r is not an octal number such as '0640'" % mode)


def read_bytes(path):
    """Return the file's content, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise FileWriteError("cannot read %s: %s" % (path, exc))


def attributes_differ(path, owner=None, group=None, mode=None):
    """Tell whether an existing file's owner, group or mode differ from the wanted ones.

    Unset wishes (None) never count as a difference. A missing file differs.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return True
    uid, gid, perm = resolve_uid(owner), resolve_gid(group), parse_mode(mode)
    return ((uid is not None and st.st_uid != uid)
            or (gid is not None and st.st_gid != gid)
            or (perm is not None and stat.S_IMODE(st.st_mode) != perm))


def write_atomic(path, content, owner=None, group=None, mode=None):
    """Write content (bytes) to path atomically with the given owner, group and mode.

    When owner/group/mode are None, an existing file's values are kept; a new file gets
    root's defaults (the process umask applied to 0666).
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileWriteError("directory %s does not exist" % directory)
    uid, gid, perm = resolve_uid(owner), resolve_gid(group), parse_mode(mode)
    try:
        current = os.stat(path)
    except OSError:
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
    try:
        # Restrict first: the temporary file must never be more readable than the result.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if uid is not None or gid is not None:
            os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(tmp, perm)
        os.rename(tmp, path)
    except (IOError, OSError) as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise FileWriteError("cannot write %s: %s" % (path, exc))


def set_attributes(path, owner=None, group=None, mode=None):
    """Bring an existing file's owner, group and mode to the wanted values."""
    uid, gid, perm = resolve_uid(owner), resolve_gid(group), parse_mode(mode)
    try:
        if uid is not None or gid is not None:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        if perm is not None:
            os.chmod(path, perm)
    except OSError as exc:
        raise FileWriteError("cannot set owner/mode of %s: %s" % (path, exc))


def remove(path):
    """Remove a file if it exists; return True when something was removed."""
    try:
        os.unlink(path)
        return True
    except OSError:
        if os.path.lexists(path):
            raise
        return False


def text_diff(path, before, after):
    """A diff entry in Ansible's format for a text file: whole text with headers."""
    return {
        "before_header": path if before is not None else "%s (absent)" % path,
        "after_header": path if after is not None else "%s (absent)" % path,
        "before": "" if before is None else before,
        "after": "" if after is None else after,
    }
