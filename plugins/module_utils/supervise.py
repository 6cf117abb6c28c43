# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declare one daemontools service: the logic behind the mailops.qmail.supervise module.

A service is a directory (run script, optional envdir, optional log/ with a multilog run script,
optional `down` file) linked into svscan's scan directory. `Service.plan()` compares the wanted
state with the disk and returns the changes without touching anything; `Service.apply()` makes
them, then signals supervise through `svc` only for what changed: `-t` when run/env changed, `-d`
when a `down` file was just added, `-u` when it was just removed, `-dx` before a link is removed
(as the daemontools documentation asks). The module only wires Ansible to this class, so unit
tests drive it with a fake command runner and a temporary directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import re
import shlex
import shutil

from ansible_collections.mailops.qmail.plugins.module_utils import validate as grammar
from ansible_collections.mailops.qmail.plugins.module_utils._io import (
    FileWriteError,
    attributes_differ,
    check_path,
    read_bytes,
    remove,
    set_attributes,
    text_diff,
    write_atomic,
)

MASK = "********"
SERVICE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._@-]*\Z")
USER_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
# multilog's limits (daemontools multilog(8)): s between 4096 and 16777215, n at least 2; n is
# read as an unsigned long, which holds at least 32 bits everywhere.
LOG_SIZE = (4096, 16777215)
LOG_COUNT = (2, 2 ** 32 - 1)
# Interpreters that `-n` makes read a script without running it.
SHELLS = ("sh", "ash", "bash", "dash", "ksh", "mksh", "zsh")
# One line per directory, "DIR: " and its status (daemontools svstat.c); a DIR holding ": " is not
# told apart from svstat's own "svstat: fatal: ..." and is never reported.
SVSTAT_LINE = re.compile(
    r"\A(?P<path>(?:(?!: ).)+): (?:(?P<state>up|down)(?: \(pid (?P<pid>[0-9]+)\))? (?P<seconds>[0-9]+) seconds"
    r"(?P<flags>.*)|(?P<problem>supervise not running|unable to .*))\Z")


class SuperviseError(ValueError):
    """Bad input or a state the module must not touch; the message names the field."""


def log_run_script(log_user, log_dir, log_size, log_count):
    """The log/run script: multilog as the log user, timestamps, ~2.5 MB files as on Gentoo."""
    return ("#!/bin/sh\n"
            "exec setuidgid %s multilog t s%d n%d %s\n"
            % (log_user, log_size, log_count, shlex.quote(log_dir)))


def env_file_content(value):
    """envdir reads the first line of each file; an empty file would unset the variable."""
    return ("%s\n" % value).encode("utf-8")


def envdir_reads(content):
    """The value daemontools envdir sets from a file's content, or None when it unsets it:
    the first line, trailing spaces and tabs removed, each NUL turned into a newline."""
    if not content:
        return None
    line = content.split(b"\n", 1)[0].rstrip(b" \t").replace(b"\x00", b"\n")
    return line.decode("utf-8", "surrogateescape")


def parse_svstat(output):
    """svstat's lines as {path: {state, pid, seconds, normally_up, normally_down, wants_up,
    problem}}: state is 'up', 'down' or None when svstat could not tell (problem says why)."""
    result = {}
    for line in output.splitlines():
        match = SVSTAT_LINE.match(line.strip())
        if not match:
            continue
        flags = match.group("flags") or ""
        result[match.group("path")] = {
            "state": match.group("state"),
            "pid": int(match.group("pid")) if match.group("pid") else None,
            "seconds": int(match.group("seconds")) if match.group("seconds") else None,
            "normally_down": "normally down" in flags,
            "normally_up": "normally up" in flags,
            "wants_up": "want up" in flags,
            "problem": match.group("problem"),
        }
    return result


def service_up(output, path):
    """From svstat's output: True (up), False (down, or no supervise running for path) or None
    (svstat said nothing about path)."""
    entry = parse_svstat(output).get(path)
    if entry is None:
        return None
    return entry["state"] == "up"


def shell_of(script):
    """The shell named on a script's #! line (directly or through env), or None for another language."""
    words = script.split("\n", 1)[0][2:].split()
    if len(words) > 1 and os.path.basename(words[0]) == "env":
        words = words[1:]
    if words and os.path.basename(words[0]) in SHELLS:
        return words[0]
    return None


def _text(value, field, shown=None):
    """value must be a string that UTF-8 can hold; shown replaces it in the message (a mask)."""
    if not isinstance(value, str):
        raise SuperviseError("%s: %s is a %s; a string is accepted"
                             % (field, shown or repr(value), type(value).__name__))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SuperviseError("%s: %s is not valid UTF-8 text (it holds a lone surrogate); UTF-8 text "
                             "is accepted" % (field, shown or repr(value)))
    return value


def _count(value, field, limits, why):
    if isinstance(value, bool) or not isinstance(value, int) or not limits[0] <= value <= limits[1]:
        raise SuperviseError("%s: %r is not an integer from %d to %d (%s)"
                             % (field, value, limits[0], limits[1], why))


def env_value(value, field, secret=False):
    """The text of one envdir file's variable, refused unless envdir reads it back unchanged."""
    shown = MASK if secret else None
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SuperviseError("%s: %s is a %s; a string or a number is accepted (quote yes/no/true/"
                             "false to pass them as text)" % (field, shown or repr(value), type(value).__name__))
    text = _text(str(value), field, shown)
    if envdir_reads(env_file_content(text)) != text:
        raise SuperviseError("%s: %s holds a newline, a NUL or a trailing space or tab, which envdir "
                             "would read differently; one line without trailing blanks is accepted"
                             % (field, shown or repr(value)))
    return text


def validate(params):
    """Check the parameters; raise SuperviseError naming the field and the value."""
    name = params["name"]
    if not isinstance(name, str) or not SERVICE_NAME.match(name):
        raise SuperviseError("name: %r is not a valid service name (letters, digits, '.', '_', '@', '-'; "
                             "no slash, not starting with a dot)" % (name,))
    for field in ("service_dir", "scan_dir", "log_dir"):
        if params.get(field) is not None:
            try:
                check_path(params[field], field)
            except FileWriteError as exc:
                raise SuperviseError(str(exc))
    run = params.get("run")
    if params["state"] == "present" and not run:
        raise SuperviseError("run is required (the run script's content) when state is present")
    if run is not None:
        _text(run, "run")
        if not run.startswith("#!"):
            raise SuperviseError("run must start with an interpreter line such as '#!/bin/sh', got %r"
                                 % run[:30])
        if "\x00" in run:
            raise SuperviseError("run: the script holds a NUL byte; text without NUL is accepted")
    if params.get("down_reason") is not None:
        _text(params["down_reason"], "down_reason")
    _count(params["log_size"], "log_size", LOG_SIZE, "bytes per multilog file")
    _count(params["log_count"], "log_count", LOG_COUNT, "files multilog keeps")
    log_user = params.get("log_user")
    if log_user is not None and (not isinstance(log_user, str) or not USER_NAME.match(log_user)):
        raise SuperviseError("log_user: %r is not a valid user name (letters, digits, '_', '.', '-')"
                             % (log_user,))
    env = params.get("env")
    if env is not None and not isinstance(env, dict):
        raise SuperviseError("env: %r is not a dict of variable names to values" % (env,))
    secret = params.get("secret_env") or []
    for key in secret:
        if not isinstance(key, str) or key not in (env or {}):
            raise SuperviseError("secret_env names %r, which is not a key of env" % (key,))
    for key, value in (env or {}).items():
        try:
            grammar.env_name(key, "env")
        except grammar.ValidationError as exc:
            raise SuperviseError(str(exc))
        env_value(value, "env.%s" % key, key in secret)


class Service(object):
    """One daemontools service; `runner` is an object with run(argv) -> (rc, out, err) and
    which(name) -> path or None (the module passes AnsibleModule's run_command/get_bin_path)."""

    def __init__(self, params, runner, check_mode=False):
        validate(params)
        self.p = params
        self.runner = runner
        self.check_mode = check_mode
        self.name = params["name"]
        self.dir = params.get("service_dir") or os.path.join("/var/qmail/supervise", self.name)
        self.link = os.path.join(params["scan_dir"], self.name)
        self.log_dir = params.get("log_dir") or os.path.join("/var/log/qmail", self.name)
        self.secret = set(params.get("secret_env") or [])
        self.changes = []
        self.diff = []
        self.warnings = []

    # ---- helpers -------------------------------------------------------------------------
    def _record(self, message):
        self.changes.append(message)

    def _svc(self, flag, path):
        """Send svc FLAG to a service dir whose supervise runs; return True when sent."""
        if self.check_mode or not self.supervised(path):
            return False
        svc = self.runner.which("svc")
        rc, out, err = self.runner.run([svc, flag, path])
        if rc != 0:
            raise SuperviseError("svc %s %s failed (rc=%s): %s" % (flag, path, rc, (err or out).strip()))
        return True

    def supervised(self, path):
        """True when a supervise process runs for the service dir (svok exits 0)."""
        svok = self.runner.which("svok")
        if not svok or not os.path.isdir(path):
            return False
        rc, dummy, dummy2 = self.runner.run([svok, path])
        return rc == 0

    def status(self):
        svstat = self.runner.which("svstat")
        if not svstat or not os.path.isdir(self.dir):
            return None
        dummy, out, dummy2 = self.runner.run([svstat, self.dir])
        return service_up(out, self.dir)

    def _ensure_dir(self, path, owner="root", group=None, mode="0755"):
        if not os.path.isdir(path):
            if os.path.lexists(path):
                raise SuperviseError("%s exists but is not a directory; remove it first" % path)
            self._record("create directory %s" % path)
            if not self.check_mode:
                os.makedirs(path)
                set_attributes(path, owner, group, mode)
            return True
        try:
            differ = attributes_differ(path, owner, group, mode)
        except FileWriteError:
            if not self.check_mode:
                raise
            differ = True
        if differ:
            self._record("set owner/mode of %s" % path)
            if not self.check_mode:
                set_attributes(path, owner, group, mode)
            return True
        return False

    def _shell_check(self, path, script):
        """A write_atomic check that refuses a shell script its shell cannot parse (`sh -n`)."""
        shell = shell_of(script)
        if shell is None:
            return None

        def check(tmp):
            program = shell if os.path.isabs(shell) else self.runner.which(shell)
            if not program or not os.access(program, os.X_OK):
                raise FileWriteError("%s: the shell %s named on its #! line is not installed; the "
                                     "file is left as it was" % (path, shell))
            rc, out, err = self.runner.run([program, "-n", tmp])
            if rc != 0:
                raise FileWriteError("%s: `%s -n` refuses the new script, so the file is left as it "
                                     "was: %s" % (path, program, (err or out).replace(tmp, path).strip()))
        return check

    def _ensure_file(self, path, content, mode, display=None, owner="root", group=None, check=None):
        """Write content when it differs; display is the text shown in the diff (masked); check
        (see write_atomic) may refuse the new content before it replaces the old."""
        before = read_bytes(path)
        if before == content:
            if attributes_differ(path, owner, group, mode):
                self._record("set owner/mode of %s" % path)
                if not self.check_mode:
                    set_attributes(path, owner, group, mode)
                return True
            return False
        shown_after = display if display is not None else content.decode("utf-8", "replace")
        shown_before = None
        if before is not None:
            shown_before = MASK + "\n" if display is not None else before.decode("utf-8", "replace")
        self.diff.append(text_diff(path, shown_before, shown_after))
        self._record("%s %s" % ("update" if before is not None else "create", path))
        if not self.check_mode:
            write_atomic(path, content, owner, group, mode, check=check)
        return True

    def _ensure_absent(self, path):
        if not os.path.lexists(path):
            return False
        self._record("remove %s" % path)
        if not self.check_mode:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                remove(path)
        return True

    def _log_group(self):
        try:
            return pwd.getpwnam(self.p["log_user"]).pw_gid
        except KeyError:
            if self.check_mode:
                self.warnings.append("log_user %r does not exist yet; assuming it will be created"
                                     % self.p["log_user"])
                return None
            raise SuperviseError("log_user %r does not exist; create the account first (role mailops.qmail.qmail)"
                                 % self.p["log_user"])

    # ---- state present -------------------------------------------------------------------
    def _present(self, result):
        self._ensure_dir(self.dir)
        run_path = os.path.join(self.dir, "run")
        run_changed = self._ensure_file(run_path, self.p["run"].encode("utf-8"), "0755",
                                        check=self._shell_check(run_path, self.p["run"]))
        env_changed = self._env()
        log_run_changed = self._log()
        down_path = os.path.join(self.dir, "down")
        down_added = down_removed = False
        if self.p["down"]:
            # supervise only tests that the file exists; its text tells the reader why.
            down_added = not os.path.lexists(down_path)
            reason = (self.p.get("down_reason") or "").strip()
            self._ensure_file(down_path, (reason + "\n").encode("utf-8") if reason else b"", "0644")
        else:
            down_removed = self._ensure_absent(down_path)
        self._link()

        if self.p["restart"] and (run_changed or env_changed) and not self.p["down"]:
            if self.supervised(self.dir):
                self._record("restart %s (svc -t)" % self.name)
                result["restarted"] = self._svc("-t", self.dir) or self.check_mode
        if log_run_changed and self.p["restart"]:
            self._svc("-t", os.path.join(self.dir, "log"))
        if down_added and self.status():
            self._record("stop %s (svc -d)" % self.name)
            self._svc("-d", self.dir)
        if down_removed and self.supervised(self.dir) and self.status() is False:
            self._record("start %s (svc -u)" % self.name)
            self._svc("-u", self.dir)

    def _env(self):
        env = self.p.get("env")
        if env is None:
            return False
        env_dir = os.path.join(self.dir, "env")
        changed = self._ensure_dir(env_dir)
        for key in sorted(env):
            secret = key in self.secret
            value = env_value(env[key], "env.%s" % key, secret)
            changed = self._ensure_file(os.path.join(env_dir, key), env_file_content(value),
                                        "0600" if secret else "0644",
                                        display=(MASK + "\n") if secret else None) or changed
        if os.path.isdir(env_dir):
            for stale in sorted(os.listdir(env_dir)):
                if stale not in env and not stale.startswith("."):
                    changed = self._ensure_absent(os.path.join(env_dir, stale)) or changed
        return changed

    def _log(self):
        log_service = os.path.join(self.dir, "log")
        if not self.p["log"]:
            if os.path.lexists(log_service):
                self._svc("-dx", log_service)
                self._ensure_absent(log_service)
            return False
        gid = self._log_group()
        parent = os.path.dirname(self.log_dir)
        if not os.path.isdir(parent):
            self._record("create directory %s" % parent)
            if not self.check_mode:
                os.makedirs(parent, 0o755)
        if gid is None:
            self._record("create %s owned by %s" % (self.log_dir, self.p["log_user"]))
        else:
            self._ensure_dir(self.log_dir, self.p["log_user"], gid, "0750")
        self._ensure_dir(log_service)
        content = log_run_script(self.p["log_user"], self.log_dir, self.p["log_size"], self.p["log_count"])
        run_path = os.path.join(log_service, "run")
        return self._ensure_file(run_path, content.encode("utf-8"), "0755",
                                 check=self._shell_check(run_path, content))

    def _link(self):
        link = self.link
        if not self.p["enabled"]:
            if os.path.islink(link):
                self._svc("-dx", self.dir)
                if self.p["log"]:
                    self._svc("-dx", os.path.join(self.dir, "log"))
                self._ensure_absent(link)
            return
        if os.path.lexists(link) and not os.path.islink(link):
            raise SuperviseError("%s exists and is not a symbolic link; move it away so the service "
                                 "can be linked to %s" % (link, self.dir))
        if os.path.islink(link) and os.readlink(link) == self.dir:
            return
        if not os.path.isdir(self.p["scan_dir"]) and not self.check_mode:
            raise SuperviseError("scan_dir %s does not exist; install daemontools first (role mailops.qmail.daemontools)"
                                 % self.p["scan_dir"])
        before = os.readlink(link) if os.path.islink(link) else None
        self.diff.append({"before_header": link, "after_header": link,
                          "before": "" if before is None else "-> %s\n" % before,
                          "after": "-> %s\n" % self.dir})
        self._record("link %s -> %s" % (link, self.dir))
        if not self.check_mode:
            tmp = os.path.join(self.p["scan_dir"], ".%s.tmp" % self.name)
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.dir, tmp)
            os.rename(tmp, link)

    # ---- other states --------------------------------------------------------------------
    def _absent(self):
        if os.path.islink(self.link):
            self._svc("-dx", self.dir)
            self._svc("-dx", os.path.join(self.dir, "log"))
            self._ensure_absent(self.link)
        elif os.path.lexists(self.link):
            raise SuperviseError("%s is not a symbolic link; not removing it" % self.link)
        self._ensure_absent(self.dir)

    def _signal(self, flag, verb, result):
        """Signal a service that is up; a down or unsupervised one reads its config when it starts."""
        if self.supervised(self.dir) and self.status():
            self._record("%s %s (svc %s)" % (verb, self.name, flag))
            result["restarted"] = flag == "-t"
            self._svc(flag, self.dir)

    def run(self):
        """Bring the service to the wanted state; return the module result (without 'diff')."""
        result = {"service_dir": self.dir, "restarted": False}
        state = self.p["state"]
        try:
            if state == "present":
                self._present(result)
            elif state == "absent":
                self._absent()
            elif state == "restarted":
                self._signal("-t", "restart", result)
            elif state == "reloaded":
                self._signal("-h", "reload", result)
        except (OSError, FileWriteError) as exc:
            raise SuperviseError("service %s: %s" % (self.name, exc))
        result["changed"] = bool(self.changes)
        result["changes"] = self.changes
        result["running"] = self.status() if state != "absent" else False
        return result
