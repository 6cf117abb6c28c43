# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only health facts of a qmail host: services, listening ports, certificate, binaries.

Everything here reads files and runs read-only commands through an injected `run` callable
(argv -> (rc, stdout, stderr)), so unit tests reach it without a host or Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import os
import pwd
import re
import stat
import struct

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mailops.qmail.plugins.module_utils import dkim, dns_records
from ansible_collections.mailops.qmail.plugins.module_utils._io import FileWriteError, check_path, read_bytes
from ansible_collections.mailops.qmail.plugins.module_utils.control import read_list
from ansible_collections.mailops.qmail.plugins.module_utils.supervise import parse_svstat
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

try:
    import dns.exception
    HAS_DNSPYTHON = True
except ImportError:
    HAS_DNSPYTHON = False

# Ways to give the collection qmail binaries, shown whenever they are missing.
SUPPLY_HINTS = [
    "set MAILOPS_QMAIL_IMAGE to a local image with qmail installed under /var/qmail (demo and tests)",
    "set qmail_install_method: package and qmail_package_path to a .deb you built or were given",
    "install qmail under /var/qmail yourself and set qmail_install_method: existing "
    "(on Gentoo, qmail_install_method: emerge installs it)",
]


# The services of a mail host by the port they are known to listen on; 465, 993 and 995 are the
# implicit-TLS ports of RFC 8314.
SERVICE_PORTS = {
    25: "smtpd", 110: "pop3", 143: "imap", 209: "qmtp", 465: "smtps", 587: "submission",
    628: "qmqp", 783: "spamd", 993: "imaps", 995: "pop3s",
}

_HEX_PORT = re.compile(r"\A[0-9A-Fa-f]{1,4}\Z")
_HEX_ADDRESS = re.compile(r"\A(?:[0-9A-Fa-f]{8}){1,4}\Z")


def listening_sockets(proc_files):
    """(address, port) of each socket in LISTEN state, from the text of /proc/net/tcp and tcp6.

    The kernel prints an address as 32-bit words in the host's byte order, so each word is packed
    back natively to get the octets in network order.
    """
    sockets = set()
    for text in proc_files:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) <= 3 or fields[3] != "0A":
                continue
            address, dummy, port = fields[1].rpartition(":")
            if not _HEX_PORT.match(port) or not _HEX_ADDRESS.match(address) or len(address) not in (8, 32):
                continue
            octets = b"".join(struct.pack("=I", int(address[i:i + 8], 16)) for i in range(0, len(address), 8))
            sockets.add((str(ipaddress.ip_address(octets)), int(port, 16)))
    return sockets


def listening_tcp_ports(proc_files):
    """Ports in LISTEN state from the text of /proc/net/tcp and /proc/net/tcp6."""
    return sorted(set(port for dummy, port in listening_sockets(proc_files)))


def listeners(proc_files):
    """Each listening socket as {port, address, service}; service is None for a port no mail
    service is known by."""
    return [{"port": port, "address": address, "service": SERVICE_PORTS.get(port)}
            for address, port in sorted(listening_sockets(proc_files), key=lambda item: (item[1], item[0]))]


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


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# openssl prints notAfter as "Nov 25 08:00:00 2027 GMT" (day padded with a space), in English
# whatever the locale.
_NOT_AFTER = re.compile(r"\A([A-Z][a-z]{2}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4}) GMT\Z")
# One attribute of a name in openssl's "oneline" form (RFC 2253 escapes, values with special
# characters in double quotes, ", " between RDNs and " + " inside one), and what follows it.
_DN_ATTRIBUTE = re.compile(r'\s*([A-Za-z][A-Za-z0-9.-]*) = ("(?:[^"\\]|\\.)*"|(?:[^"\\,+]|\\.)*)\s*(?:,|\+|\Z)')
_DN_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2})|\\(.)|([^\\])", re.S)


def not_after_time(text):
    """The UTC datetime of openssl's notAfter text, or None when it is not in that form."""
    match = _NOT_AFTER.match(text)
    if match is None or match.group(1) not in _MONTHS:
        return None
    numbers = [int(group) for group in match.group(2, 3, 4, 5, 6)]
    try:
        return datetime.datetime(numbers[4], _MONTHS.index(match.group(1)) + 1, numbers[0],
                                 numbers[1], numbers[2], numbers[3], tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def common_name(name):
    """The last (most specific) CN of a name printed with -nameopt oneline, unescaped; None when
    it has none or is not in that form."""
    found, position = None, 0
    while position < len(name):
        match = _DN_ATTRIBUTE.match(name, position)
        if match is None or match.end() == position:
            return None
        if match.group(1).upper() == "CN":
            found = _dn_value(match.group(2))
        position = match.end()
    return found


def _dn_value(value):
    if value.startswith('"'):
        value = value[1:-1]
    else:
        value = value.rstrip(" ")
    octets = bytearray()
    for match in _DN_ESCAPE.finditer(value):
        if match.group(1):
            octets.append(int(match.group(1), 16))
        else:
            octets.extend((match.group(2) or match.group(3)).encode("utf-8"))
    # esc_msb prints each octet of a UTF-8 character as \XX.
    return octets.decode("utf-8", "replace")


def certificate_report(path, run, now=None):
    """Subject, issuer and expiry (also as whole days left, negative once expired) of the first
    certificate in path, or None when absent."""
    if not os.path.exists(path):
        return None
    # oneline is openssl 3's default; naming it keeps the subject's form the same with openssl 1.x.
    rc, out, err = run(["openssl", "x509", "-in", path, "-noout", "-nameopt", "oneline",
                        "-subject", "-issuer", "-enddate"])
    if rc != 0:
        return {"path": path, "error": (err or out).strip()}
    fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    report = {"path": path, "subject": fields.get("subject", "").strip(),
              "issuer": fields.get("issuer", "").strip(), "not_after": fields.get("notAfter", "").strip()}
    expires = not_after_time(report["not_after"])
    now = now or datetime.datetime.now(datetime.timezone.utc)
    report.update(subject_cn=common_name(report["subject"]), issuer_cn=common_name(report["issuer"]),
                  days_left=None if expires is None else (expires - now) // datetime.timedelta(days=1))
    return report


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


def domain_records(domains):
    """The records mailops.qmail.dns_records computes for domains (its `domains` structure);
    ValidationError names what is wrong, as that module would."""
    result = ArgumentSpecValidator(
        {"domains": dict(type="list", elements="dict", options=dns_records.DOMAIN_OPTIONS)}).validate({"domains": domains})
    if result.error_messages:
        raise ValidationError("domains: %s" % "; ".join(result.error_messages))
    return dns_records.all_records(result.validated_parameters["domains"], 3600)[0]


def dns_asker(nameserver=None, port=53, timeout=5.0):
    """An ask(pairs) -> answers for dns_records.compare(), through dns_records' resolver; a
    missing dnspython or resolver configuration becomes every answer's error text."""
    def ask(pairs):
        if not HAS_DNSPYTHON or not dns_records.HAS_DNSPYTHON:
            return dict((pair, "dnspython (Debian python3-dnspython) is not installed") for pair in pairs)
        try:
            return dns_records.ask_dns(pairs, nameserver, port, timeout)
        except (dns.exception.DNSException, OSError) as exc:
            return dict((pair, "%s: %s" % (type(exc).__name__, exc)) for pair in pairs)
    return ask


def dns_report(records, ask):
    """Each record (without the TTL, which is not checked) with its status in DNS, or with
    status None when ask is None (DNS not asked)."""
    if ask is None:
        checked = [dict(record, status=None, found=None) for record in records]
    else:
        checked = dns_records.compare(records, ask(dns_records.queries(records)))
    return [dict((key, value) for key, value in record.items() if key != "ttl") for record in checked]


def dkim_report(key_dir, ask=None):
    """Each key KEY_DIR/DOMAIN/SELECTOR.private (the dkim role's layout) with its algorithm, mode,
    owner and the TXT record it needs, and, when ask is given, whether DNS publishes that record.
    The private key is read to derive the public one and never returned."""
    try:
        domains = sorted(name for name in os.listdir(key_dir) if os.path.isdir(os.path.join(key_dir, name)))
    except OSError as exc:
        return {"key_dir": key_dir, "keys": [], "error": "cannot list: %s" % (exc.strerror or exc)}
    keys = []
    for domain in domains:
        try:
            selectors = sorted(name[:-len(".private")] for name in os.listdir(os.path.join(key_dir, domain))
                               if name.endswith(".private"))
        except OSError as exc:
            keys.append(_key_entry(key_dir, domain, None, "cannot list: %s" % (exc.strerror or exc)))
            continue
        keys.extend(_dkim_key(key_dir, domain, selector) for selector in selectors)
    if ask is not None:
        _dkim_published(keys, ask)
    return {"key_dir": key_dir, "keys": keys, "error": None}


def _key_entry(key_dir, domain, selector, error=None):
    path = dkim.key_file(key_dir, domain, selector) if selector is not None else os.path.join(key_dir, domain)
    return {"domain": _shown(domain), "selector": _shown(selector), "path": _shown(path), "algorithm": None,
            "bits": None, "mode": None, "owner": None, "owner_only": None, "txt": None, "published": None,
            "found": None, "error": error}


def _shown(name):
    """A file name as the result can carry it: bytes that are not UTF-8 (surrogate-escaped by
    os.listdir) would make the module's JSON output fail, so they are replaced."""
    return None if name is None else name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _dkim_key(key_dir, domain, selector):
    entry = _key_entry(key_dir, domain, selector)
    path = dkim.key_file(key_dir, domain, selector)
    try:
        dkim.domain(entry["domain"], "directory name")
        dkim.selector(entry["selector"], "file name")
        status = os.stat(path)
    except ValidationError as exc:
        entry["error"] = "%s; the dkim role's layout is KEY_DIR/DOMAIN/SELECTOR.private" % exc
        return entry
    except OSError as exc:
        entry["error"] = "cannot read: %s" % (exc.strerror or exc)
        return entry
    entry.update(mode="%04o" % stat.S_IMODE(status.st_mode), owner=_user(status.st_uid),
                 owner_only=not status.st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    if not dkim.HAS_CRYPTOGRAPHY:
        entry["error"] = "cryptography (Debian python3-cryptography) is not installed: the algorithm is unknown"
        return entry
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
        algorithm, bits, public = dkim.key_facts(pem)
    except OSError as exc:
        entry["error"] = "cannot read: %s" % (exc.strerror or exc)
    except ValidationError as exc:
        entry["error"] = str(exc)
    else:
        entry.update(algorithm=algorithm, bits=bits, txt=dkim.txt_value(algorithm, public))
    return entry


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _dkim_published(keys, ask):
    """Sets published/found of each key from DNS, compared as dns_records compares a DKIM TXT."""
    readable = [key for key in keys if key["txt"]]
    records = [dict(domain=key["domain"], name="%s._domainkey.%s" % (key["selector"], dns_records.absolute(key["domain"])),
                    type="TXT", kind="dkim", ttl=0, value=key["txt"]) for key in readable]
    checked = dns_records.compare(records, ask(dns_records.queries(records))) if records else []
    for key, record in zip(readable, checked):
        key.update(published=record["status"], found=record["found"])


def collect(scan_dir, qmail_home, certificate, run, proc_net=("/proc/net/tcp", "/proc/net/tcp6"),
            dkim_key_dir=None, records=None, ask=None, now=None):
    """The report; dkim (with dkim_key_dir) and dns (with records) appear only when asked for,
    checked in DNS with ask (see dns_asker()) when it is given."""
    proc_texts = [t for t in (_read(p) for p in proc_net) if t]
    report = {
        "qmail": qmail_report(qmail_home),
        "recipients": recipient_report(qmail_home),
        "services": service_report(scan_dir, run),
        "listening_ports": listening_tcp_ports(proc_texts),
        "listeners": listeners(proc_texts),
        "certificate": certificate_report(certificate, run, now),
    }
    if dkim_key_dir is not None:
        report["dkim"] = dkim_report(dkim_key_dir, ask)
    if records is not None:
        report["dns"] = dns_report(records, ask)
    return report


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
        lines.append("  issued by %s; %s" % (
            cert["issuer_cn"] or cert["issuer"] or "(no issuer read)",
            "expiry unreadable" if cert["days_left"] is None else "%d days left" % cert["days_left"]))
    lines.append("listening services:%s" % ("" if report["listeners"] else " none"))
    lines.extend("  %d %s on %s" % (item["port"], item["service"] or "(unknown service)", item["address"])
                 for item in report["listeners"])
    if "dkim" in report:
        lines.extend(_render_dkim(report["dkim"]))
    if "dns" in report:
        lines.append("DNS records:")
        lines.extend("  %s %s %s: %s" % (record["kind"], record["type"], record["name"],
                                         record["status"] or "not checked (dns_check is false)")
                     for record in report["dns"])
    return "\n".join(lines)


def _render_dkim(dkim_part):
    if dkim_part["error"]:
        return ["DKIM keys: %s %s" % (dkim_part["key_dir"], dkim_part["error"])]
    lines = ["DKIM keys under %s:%s" % (dkim_part["key_dir"], "" if dkim_part["keys"] else " none")]
    for key in dkim_part["keys"]:
        name = "%s._domainkey.%s" % (key["selector"], key["domain"]) if key["selector"] else key["path"]
        if key["mode"] is None:
            lines.append("  %s: %s" % (name, key["error"]))
            continue
        text = "  %s: %smode %s owner %s%s" % (
            name, key["algorithm"] + ", " if key["algorithm"] else "", key["mode"], key["owner"],
            "" if key["owner_only"] else " (READABLE BY OTHERS THAN ITS OWNER)")
        if key["error"]:
            text += ", %s" % key["error"]
        if key["published"]:
            text += ", in DNS: %s" % key["published"]
        lines.append(text)
    return lines
