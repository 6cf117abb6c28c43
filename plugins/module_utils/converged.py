# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converged state of a host: what a complete site run left, read back in one pass.

After a complete run, mailops.qmail.converged records the digest of the settings the run applied
and a snapshot of everything the roles manage: files (content, mode, owner), directories, links,
the package database, which supervised services are up, and when the certificate falls due. A
later run whose settings digest and snapshot are the same has nothing to do; any difference, even
outside what the collection writes (a package upgrade, a new user), means a complete run.

Everything here takes an injected `run` callable (argv -> (rc, stdout, stderr)) and plain paths,
so unit tests reach it without a host or Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import fnmatch
import glob
import hashlib
import json
import os
import pwd
import stat
import time

from ansible_collections.mailops.qmail.plugins.module_utils.health import certificate_report, service_report

FORMAT = 1
# A Maildir's messages change all the time; its directories are managed, its files are not.
_MAILDIR_PARTS = ("cur", "new", "tmp")
# Package databases: any install, removal or upgrade changes these.
PACKAGE_DATABASES = ("/var/lib/dpkg/status", "/var/db/pkg")
# Differences listed in a check result; more only repeat that a complete run is due.
_MAX_REASONS = 10


def _is_maildir(path):
    return all(os.path.isdir(os.path.join(path, part)) for part in _MAILDIR_PARTS)


def _entry(path, st):
    """One snapshot line: kind, mode, owner and, for a file, its content's sha256."""
    owner = "%o:%d:%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISLNK(st.st_mode):
        return "l:" + os.readlink(path)
    if stat.S_ISDIR(st.st_mode):
        return "d:" + owner
    if stat.S_ISREG(st.st_mode):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return "f:%s:%s" % (owner, digest.hexdigest())
    # fifos and sockets: their kind and mode, never their content
    return "o:%o:%s" % (stat.S_IFMT(st.st_mode), owner)


def _excluded(path, exclude):
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in exclude)


def file_entries(roots, exclude=()):
    """{path: entry} for every root (a shell pattern names what it matches) and everything under it,
    except excluded paths and mail."""
    entries = {}
    for root in roots:
        if any(char in root for char in "*?["):
            for path in sorted(glob.glob(root)):
                _walk(path, exclude, entries)
        else:
            _walk(root, exclude, entries)
    return entries


def _walk(path, exclude, entries):
    if path in entries or _excluded(path, exclude):
        return
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        entries[path] = "-"
        return
    entries[path] = _entry(path, st)
    if not stat.S_ISDIR(st.st_mode):
        return
    if _is_maildir(path):
        # The Maildir's own directories; the mail, folders and indexes in it belong to its user.
        for name in _MAILDIR_PARTS:
            child = os.path.join(path, name)
            entries[child] = _entry(child, os.lstat(child))
        return
    for name in sorted(os.listdir(path)):
        _walk(os.path.join(path, name), exclude, entries)


def home_roots(min_uid, maildir_name, users=()):
    """The paths of users' homes that decide their delivery: .qmail files and their Maildir."""
    roots = []
    for entry in pwd.getpwall():
        if entry.pw_uid < min_uid and entry.pw_name not in users:
            continue
        home = entry.pw_dir
        if not home or home == "/" or not os.path.isdir(home):
            continue
        try:
            names = sorted(os.listdir(home))
        except OSError:
            continue
        roots.extend(os.path.join(home, name) for name in names if name.startswith(".qmail"))
        if maildir_name:
            roots.append(os.path.join(home, maildir_name))
    return roots


def certificate_due(path, renew_days, run):
    """The epoch second from which the certificate at path falls due for renewal, or None."""
    report = certificate_report(path, run)
    if not report or not report.get("not_after"):
        return None
    try:
        not_after = calendar.timegm(time.strptime(report["not_after"], "%b %d %H:%M:%S %Y %Z"))
    except ValueError:
        return None
    return not_after - int(renew_days) * 86400


def intended_services(scan_dir):
    """{name: up or down} as the run left each service to be: down when it has a down file.

    A record holds these rather than svstat's answer: right after a run, svscan may not have
    started the supervise of a new service yet (it looks every five seconds).
    """
    try:
        names = sorted(n for n in os.listdir(scan_dir) if not n.startswith("."))
    except OSError:
        return {}
    return dict((name, "down" if os.path.exists(os.path.join(scan_dir, name, "down")) else "up") for name in names)


def daemon_running(name, run):
    """Whether the init system reports the daemon `name` (Dovecot, spamd, clamd) as running."""
    if os.path.isdir("/run/systemd/system"):
        argv = ["systemctl", "is-active", "--quiet", name]
    elif os.path.exists("/sbin/openrc-run") or os.path.exists("/usr/sbin/openrc-run"):
        argv = ["rc-service", name, "status"]
    else:
        argv = ["service", name, "status"]
    return run(argv)[0] == 0


def snapshot(spec, run, intended=False):
    """Read everything spec names: {files, services, due}; the services as the run meant them
    (intended) or as svstat and the init system find them."""
    roots = list(spec.get("roots") or [])
    roots.extend(path for path in PACKAGE_DATABASES if os.path.exists(path))
    homes = spec.get("homes")
    if homes:
        roots.extend(home_roots(homes.get("min_uid", 1000), homes.get("maildir", ""), homes.get("users", [])))
    files = file_entries(roots, spec.get("exclude") or ())
    services = {}
    if spec.get("scan_dir") and intended:
        services = intended_services(spec["scan_dir"])
    elif spec.get("scan_dir"):
        services = dict((entry["name"], entry["state"]) for entry in service_report(spec["scan_dir"], run))
    # Daemons the init system runs: the roles that install them leave them started.
    for name in spec.get("daemons") or []:
        services["init:" + name] = "up" if intended or daemon_running(name, run) else "down"
    due = None
    for certificate in spec.get("certificates") or []:
        when = certificate_due(certificate["path"], certificate.get("renew_days", 0), run)
        if when is not None:
            due = when if due is None else min(due, when)
    return {"files": files, "services": services, "due": due}


def record(settings, spec, current):
    """The record's content: the settings digest, what the snapshot reads (a check reads the same)
    and the snapshot, as canonical JSON bytes."""
    return (json.dumps({"format": FORMAT, "settings": settings, "spec": spec, "snapshot": current},
                       sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def differences(recorded, settings, current, now):
    """Why the host is not as the last complete run left it ([] = it is), most telling first."""
    if recorded is None:
        return ["no complete run has been recorded on this host"]
    if not isinstance(recorded, dict) or recorded.get("format") != FORMAT:
        return ["the record is from another version of the collection"]
    if recorded.get("settings") != settings:
        return ["the settings (variables, roles or collection version) differ from the recorded run"]
    reasons = []
    before = recorded.get("snapshot") or {}
    due = current.get("due")
    if due is not None and now >= due:
        reasons.append("the certificate is due for renewal")
    old_files, new_files = before.get("files") or {}, current.get("files") or {}
    for path in sorted(set(old_files) | set(new_files)):
        old, new = old_files.get(path), new_files.get(path)
        if old != new:
            what = "appeared" if old in (None, "-") else "is gone" if new in (None, "-") else "changed"
            reasons.append("%s %s" % (path, what))
    old_services, new_services = before.get("services") or {}, current.get("services") or {}
    for name in sorted(set(old_services) | set(new_services)):
        if old_services.get(name) != new_services.get(name):
            reasons.append("service %s is %s (was %s)"
                           % (name, new_services.get(name, "gone"), old_services.get(name, "absent")))
    if len(reasons) > _MAX_REASONS:
        reasons = reasons[:_MAX_REASONS] + ["and %d more differences" % (len(reasons) - _MAX_REASONS)]
    return reasons


def load(content):
    """The parsed record, or None when it is missing or unreadable (then a complete run is due)."""
    if content is None:
        return None
    try:
        return json.loads(content.decode("utf-8"))
    except ValueError:
        return None
