# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the site's fast path compares: the settings digest, and the paths a snapshot reads.

A rerun that changes nothing should cost one check, not a round trip per task (issue #13). The
check is only sound if the snapshot covers everything the roles manage, so the paths come from the
same variables the roles use, and a unit test holds them against every path the roles name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

# Role variables are the inputs of a run; these prefixes catch the ones without a default too.
ROLE_PREFIXES = ("qmail_", "daemontools_", "mta_swap_", "send_", "tls_", "smtp_auth_", "relay_ctrl_",
                 "smtpd_", "pop3d_", "imapd_", "qmtpd_", "smarthost_", "tcpserver_", "content_filter_", "dkim_")
# Facts the collection sets during a play: outputs, not inputs.
SET_DURING_PLAY = ("mailops_qmail_preflight_roles", "mailops_qmail_settings", "qmail_binaries_present",
                   "qmail_down_reason", "smtp_auth_smtpd", "relay_ctrl_hooks", "content_filter_qmailqueue",
                   "dkim_published", "dkim_qmailqueue")
# Deliberately slow: the settings hold passwords, and the digest lies on the host.
_ITERATIONS = 100000
_COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_collection_digest = []


def collection_digest(root=_COLLECTION):
    """sha256 of the collection's roles, plugins and playbooks: new code means a complete run."""
    if root == _COLLECTION and _collection_digest:
        return _collection_digest[0]
    digest = hashlib.sha256()
    for part in ("roles", "plugins", "playbooks"):
        for directory, dirs, files in os.walk(os.path.join(root, part)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
                with open(path, "rb") as handle:
                    digest.update(handle.read())
    if root == _COLLECTION:
        _collection_digest.append(digest.hexdigest())
    return digest.hexdigest()


# Every role of the collection: its tasks are tagged with its name or NAME-part (send-configure).
ALL_ROLES = ("qmail", "daemontools", "tcpserver", "mta_swap", "send", "tls", "smtp_auth", "relay_ctrl", "smtpd",
             "pop3d", "imapd", "qmtpd", "smarthost", "content_filter", "dkim")


def incomplete_run(run_tags, skip_tags, check_mode):
    """Why this run must not be recorded as complete, or None when every role ran for real.

    Skipped tags that no task of the collection carries (molecule's `notest`, your own) do not
    matter; `--tags` anything but all, or skipping a role's tag or `always`, does.
    """
    if check_mode:
        return "a check changes nothing, so it records nothing"
    if sorted(run_tags or ["all"]) != ["all"]:
        return "the run was limited to the tags %s" % ", ".join(sorted(run_tags))
    for tag in sorted(skip_tags or []):
        if tag == "always" or tag.split("-", 1)[0] in ALL_ROLES:
            return "the run skipped the tag %s" % tag
    return None


def input_names(names):
    """The variable names that are inputs of a run, among the names given."""
    return sorted(name for name in set(names)
                  if (name.startswith(ROLE_PREFIXES) or name == "mailops_qmail_services")
                  and name not in SET_DURING_PLAY)


def settings_digest(values, roles, host, versions):
    """A slow, salted digest of every input value, the roles applied and the code applying them.

    values: {name: templated value}; host: the inventory name (the salt); versions: what else
    decides the result (the collection's digest, ansible-core's version).
    """
    canonical = json.dumps({"values": values, "roles": sorted(roles), "versions": versions},
                           sort_keys=True, default=repr, separators=(",", ":"))
    salt = ("mailops.qmail converged " + host).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", canonical.encode("utf-8", "surrogatepass"), salt, _ITERATIONS).hex()


def _text(var, name, default=""):
    value = var.get(name, default)
    return value if isinstance(value, str) else default


def _rules_paths(path):
    return [path, path + ".cdb"] if path else []


def snapshot_spec(var, roles):
    """What mailops.qmail.converged reads on the host, from the variables the roles use."""
    qmail_home = _text(var, "qmail_home", "/var/qmail") or "/var/qmail"
    control = _text(var, "qmail_control_dir", qmail_home + "/control") or qmail_home + "/control"
    scan_dir = _text(var, "daemontools_scan_dir")
    roots = [qmail_home, control,
             # accounts (qmail's users, and the users validrcptto lists) and the MTA slot
             "/etc/passwd", "/etc/group", "/usr/sbin/sendmail", "/usr/lib/sendmail",
             # svscan at boot, whichever way the host boots
             "/etc/inittab", "/etc/init.d/svscan", "/etc/systemd/system/svscan.service.d",
             "/etc/systemd/system/daemontools-run.service.d", "/etc/systemd/system/multi-user.target.wants",
             "/etc/runlevels/default", "/etc/portage/package.use/mailops-qmail",
             # tcprules sources and CDBs in both platforms' places
             "/etc/tcp.*", "/etc/tcprules.d", "/etc/skel",
             # the services' log directories (their logs are left out below), qmailctl's report
             "/var/log/qmail", "/usr/local/lib/mailops-qmail"]
    roots += [scan_dir] if scan_dir else ["/etc/service", "/service"]
    for name in ("smtpd_tcprules_path", "smtpd_submission_tcprules_path", "pop3d_tcprules_path"):
        roots += _rules_paths(_text(var, name))
    tls_dir = _text(var, "tls_dir") or "/etc/ssl/qmail"
    if "tls" in roles:
        roots += [tls_dir] + [path for path in (_text(var, "tls_key_file"), _text(var, "tls_cert_file")) if path]
    if "smtp_auth" in roles:
        roots += [_text(var, "smtp_auth_pwfile_path"), _text(var, "smtp_auth_poppasswd_path")]
    if "pop3d" in roles:
        roots += [_text(var, "pop3d_cvm_pwfile_path")]
    if "relay_ctrl" in roles:
        roots += [_text(var, "relay_ctrl_env_dir"), _text(var, "relay_ctrl_spool_dir"),
                  "/etc/cron.d/mailops-qmail-relay-ctrl"]
    daemons = []
    if "imapd" in roles:
        roots += ["/etc/dovecot"] + [path for path in (_text(var, "imapd_certificate"), _text(var, "imapd_key"))
                                     if path]
        daemons.append("dovecot")
    if "content_filter" in roles:
        roots += ["/etc/mailops-qmail", "/etc/default/spamd", "/etc/conf.d/spamd",
                  "/etc/systemd/system/clamav-daemon.service.d", "/etc/systemd/system/clamav-daemon.socket.d"]
        daemons.append("spamd")
        if var.flag("content_filter_clamav_enabled", False):
            facts = var.get("ansible_facts", {}) or {}
            daemons.append("clamd" if facts.get("os_family") == "Gentoo" else "clamav-daemon")
    if "dkim" in roles:
        roots += [_text(var, "dkim_key_dir") or control + "/dkim"]
    exclude = [qmail_home + "/queue",
               # supervise's own state and the logs multilog writes
               "*/supervise/*/supervise", "*/supervise/*/log/supervise", "*/log/main", "/var/log/qmail/*/*",
               # Python's byte-code caches beside the collection's programs
               "*/__pycache__",
               # POP-before-SMTP grants come and go with every login
               (_text(var, "relay_ctrl_spool_dir") or "/var/spool/relay-ctrl") + "/allow/*"]
    users = var.get("send_maildir_users", []) or []
    maildir = _text(var, "send_maildir_name")
    spec = {"roots": sorted(set(root for root in roots if root)), "exclude": exclude,
            "homes": {"min_uid": 1000, "maildir": maildir,
                      "users": [user for user in users if isinstance(user, str)]},
            "scan_dir": scan_dir or None, "certificates": [], "daemons": daemons}
    if "tls" in roles:
        acme = var.get("tls_provider", None) == "acme"
        renew = var.get("tls_acme_renew_days" if acme else "tls_renew_days", 30)
        spec["certificates"].append({"path": _text(var, "tls_cert_file") or tls_dir + "/server.crt",
                                     "renew_days": renew if isinstance(renew, int) else 30})
    return spec
