# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only health facts of a qmail host: services, listening ports, certificate, binaries.

Everything here reads files and runs read-only commands through an injected `run` callable
(argv -> (rc, stdout, stderr)), so unit tests reach it without a host or Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.mailops.qmail.plugins.module_utils._io import FileWriteError, check_path, read_bytes
from ansible_collections.mailops.qmail.plugins.module_utils.control import read_list
from ansible_collections.mailops.qmail.plugins.module_utils.supervise import parse_svstat

# Ways to give the collection qmail binaries, shown whenever they are missing.
SUPPLY_HINTS = [
    "set MAILOPS_QMAIL_IMAGE to a local image with qmail installed under /var/qmail (demo and tests)",
    "set qmail_install_method: package and qmail_package_path to a .deb you built or were given",
    "install qmail under /var/qmail yourself and set qmail_install_method: existing "
    "(on Gentoo, qmail_install_method: emerge installs it)",
]


def listening_tcp_ports(proc_files):
    """Ports in LISTEN state from the text of /proc/net/tcp and /proc/net/tcp6."""
    ports = set()
    for text in proc_files:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":
                port = fields[1].rsplit(":", 1)[-1]
                if re.match(r"\A[0-9A-Fa-f]{1,4}\Z", port):
                    ports.add(int(port, 16))
    return sorted(ports)


def _read(path):
    """A file's text (undecodable bytes replaced), or None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def check_paths(**paths):
    """Each keyword's value must be an absolute path; a FileWriteError names one that is not."""
    for field in sorted(paths):
        check_path(paths[field], field)


def service_report(scan_dir, run):
    """One entry per service linked in the scan directory, with why a down service is down."""
    services = []
    try:
        names = sorted(n for n in os.listdir(scan_dir) if not n.startswith("."))
    except OSError:
        return services
    paths = [os.path.join(scan_dir, n) for n in names]
    statuses, err = {}, ""
    if paths:
        dummy, out, err = run(["svstat"] + paths)
        statuses = parse_svstat(out)
    for name, path in zip(names, paths):
        status = statuses.get(path)
        down_file = os.path.join(path, "down")
        reason = None
        if os.path.exists(down_file):
            reason = (_read(down_file) or "").strip() or "a down file is present"
        known = status is not None and status["state"] is not None
        if not known and reason is None:
            reason = "svstat could not read its status (%s): is svscan running?" % (
                status["problem"] if status else err.strip() or "no answer")
        services.append({"name": name, "path": os.path.realpath(path),
                         "state": status["state"] if known else "unknown",
                         "seconds": status["seconds"] if known else None,
                         "reason": reason})
    return services


def certificate_report(path, run):
    """Subject and expiry of the first certificate in path, or None when absent."""
    if not os.path.exists(path):
        return None
    rc, out, err = run(["openssl", "x509", "-in", path, "-noout", "-subject", "-enddate"])
    if rc != 0:
        return {"path": path, "error": (err or out).strip()}
    fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {"path": path, "subject": fields.get("subject", "").strip(),
            "not_after": fields.get("notAfter", "").strip()}


def qmail_report(qmail_home):
    required = ["qmail-send", "qmail-smtpd", "qmail-inject", "sendmail"]
    bin_dir = os.path.join(qmail_home, "bin")
    missing = [b for b in required if not os.access(os.path.join(bin_dir, b), os.X_OK)]
    return {"home": qmail_home, "binaries_present": not missing, "missing": missing,
            "supply_hints": SUPPLY_HINTS if missing else []}


def recipient_report(qmail_home):
    """Whether qmail-smtpd refuses unknown local recipients (sagredo's control/validrcptto), and where."""
    path = os.path.join(qmail_home, "control", "validrcptto")
    try:
        data = read_bytes(path)
    except FileWriteError:
        data = None
    entries = [entry.decode("utf-8", "replace") for entry in (read_list(data) or [])]
    checked = sorted(entry[2:] for entry in entries if entry.startswith("-@"))
    return {"path": path, "checked_domains": checked,
            "backscatter_possible": not checked,
            "addresses": len([entry for entry in entries if not entry.startswith("-")])}


def collect(scan_dir, qmail_home, certificate, run, proc_net=("/proc/net/tcp", "/proc/net/tcp6")):
    return {
        "qmail": qmail_report(qmail_home),
        "recipients": recipient_report(qmail_home),
        "services": service_report(scan_dir, run),
        "listening_ports": listening_tcp_ports([t for t in (_read(p) for p in proc_net) if t]),
        "certificate": certificate_report(certificate, run),
    }


def render(report):
    """The human-readable report the demo and playbooks/health.yml print."""
    lines = []
    qmail = report["qmail"]
    if qmail["binaries_present"]:
        lines.append("qmail binaries: present under %s" % qmail["home"])
    else:
        lines.append("qmail binaries: NOT available under %s (missing: %s)"
                     % (qmail["home"], ", ".join(qmail["missing"])))
        lines.append("  configuration is staged and services are left down; supply qmail in one of three ways:")
        lines.extend("  %d. %s" % (i, hint) for i, hint in enumerate(qmail["supply_hints"], 1))
    lines.append("services:")
    if not report["services"]:
        lines.append("  (none linked in the scan directory)")
    for svc in report["services"]:
        text = "  %-28s %s" % (svc["name"], svc["state"])
        if svc["seconds"] is not None:
            text += " for %ss" % svc["seconds"]
        if svc["reason"] and svc["state"] != "up":
            text += "  (%s)" % svc["reason"]
        lines.append(text)
    lines.append("listening TCP ports: %s" % (", ".join(str(p) for p in report["listening_ports"]) or "none"))
    recipients = report.get("recipients")
    if recipients and recipients["backscatter_possible"]:
        lines.append("unknown recipients: accepted at RCPT and bounced later (backscatter possible); "
                     "no %s refusing them" % recipients["path"])
    elif recipients:
        lines.append("unknown recipients: refused at RCPT for %s (%d addresses listed)"
                     % (", ".join(recipients["checked_domains"]), recipients["addresses"]))
    cert = report["certificate"]
    if cert is None:
        lines.append("certificate: none installed")
    elif "error" in cert:
        lines.append("certificate: %s unreadable: %s" % (cert["path"], cert["error"]))
    else:
        lines.append("certificate: %s, expires %s" % (cert["subject"], cert["not_after"]))
    return "\n".join(lines)
