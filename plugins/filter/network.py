# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the network service roles (smtpd, pop3d, tls, smtp_auth, relay_ctrl, qmtpd).

The roles only render what these functions decide: the tcprules rule lists, the qmail-smtpd
command line per flavour, the conf-* shell assignments, the open-relay check, the password files.
Everything here is pure Python so tests/unit/plugins/filter/test_network.py can state the rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.qmail.plugins.module_utils.flavours import (
    FLAVOURS,
    FlavourError,
    flavour_info,
    require,
    supports,
)
from ansible_collections.mailops.qmail.plugins.module_utils import addresses
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ENV_NAME as _ENV_NAME
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
from ansible_collections.mailops.qmail.plugins.module_utils.validate import hostname as _hostname
from ansible_collections.mailops.qmail.plugins.module_utils.validate import port as _port

try:
    from passlib.hash import sha512_crypt
    HAS_PASSLIB = True
except ImportError:  # pragma: no cover - passlib is a documented controller requirement
    HAS_PASSLIB = False

# Words in the program chains (QMAIL_SMTP_PRE, ...) are split by the run script's shell without
# quote removal, so a word may not contain whitespace, quotes or shell syntax.
_WORD = re.compile(r"^[A-Za-z0-9_./:@%+,=-]+$")
# Programs that accept every password: as the SMTP AUTH checker they make the server an open relay.
_ALWAYS_TRUE = ("true", "/bin/true", "/usr/bin/true", ":")
# Largest IPv4 block that may relay without AUTH (a /8, such as 10. or 127.).
_MAX_RELAY_ADDRESSES = 1 << 24


def _fail(message):
    raise AnsibleFilterError(message)


def _checked(func, *args):
    """Call a module_utils check; its error (which names the field) becomes the filter's error."""
    try:
        return func(*args)
    except (FlavourError, ValidationError) as exc:
        _fail(str(exc))


def shell_words(words, field):
    """Check a program chain (list of words) for the run script and return it as one string."""
    if words is None:
        return ""
    if isinstance(words, str):
        words = words.split()
    for word in words:
        if not isinstance(word, str) or not _WORD.match(word):
            _fail("%s: %r cannot be a word of a run script's program chain; use words made of letters, digits "
                  "and ._/:@%%+,=- only (the run script splits on spaces and does not remove quotes)" % (field, word))
    return " ".join(words)


def shell_assignments(values, export=False):
    """Render NAME='value' lines (single-quoted) for a conf-* file sourced by a run script."""
    lines = []
    for name, value in values.items():
        if not _ENV_NAME.match(str(name)):
            _fail("%r is not a valid environment variable name" % (name,))
        if value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        text = str(value)
        if "\n" in text or "\0" in text:
            _fail("the value of %s may not contain a newline or NUL byte" % name)
        quoted = "'" + text.replace("'", "'\\''") + "'"
        lines.append("%s%s=%s" % ("export " if export else "", name, quoted))
    return "\n".join(lines) + ("\n" if lines else "")


def ports(fields):
    """Check the ports one role listens on: {field: port}. Each is 1..65535, no two are the same.

    Run before a role writes anything, so a bad port leaves every file as it was."""
    seen = {}
    for field, value in fields.items():
        number = _checked(_port, value, field)
        if number in seen:
            _fail("%s: port %d is already %s; two services cannot listen on one port" % (field, number, seen[number]))
        seen[number] = field
    return True


def relay_rules(relay_clients, rules=None, default_env=None, relay_env=None):
    """The tcprules list of an SMTP-like service.

    Clients in relay_clients get RELAYCLIENT="" (plus relay_env, e.g. RBLSMTPD=""), the user's
    extra rules come next, and the final default rule lets everyone else connect with default_env.
    """
    result = []
    for client in relay_clients or []:
        env = {"RELAYCLIENT": ""}
        env.update(relay_env or {})
        result.append({"match": client, "action": "allow", "env": env,
                       "comment": "may relay without authentication"})
    for rule in rules or []:
        if not isinstance(rule, dict) or "match" not in rule:
            _fail("each extra tcprules rule needs a 'match' key, got %r" % (rule,))
        result.append(dict(rule))
    default = {"match": "", "action": "allow", "comment": "everyone else: local recipients only"}
    if default_env:
        default["env"] = dict(default_env)
    result.append(default)
    return result


def rblsmtpd_words(servers, field="smtpd_rbl_servers"):
    """rblsmtpd's words for QMAIL_SMTP_PRE: [] without servers, else rblsmtpd -r SERVER ..."""
    words = []
    for server in servers or []:
        words.extend(["-r", server])
    if words:
        shell_words(words, field)
        words.insert(0, "rblsmtpd")
    return words


def restricted_rules(clients, field):
    """tcprules for a service only the listed clients may use (QMQP): allow each, deny the rest."""
    if not clients:
        _fail("%s is empty: the service would refuse every client; list the clients that may use it" % field)
    result = [{"match": client, "action": "allow", "comment": "allowed client"} for client in clients]
    result.append({"match": "", "action": "deny", "comment": "everyone else is refused"})
    return result


def open_relay_problems(rules, exports=None, chains=None, checkpassword=None, rcpthosts=None, rcpthosts_checked=True):
    """Explain every way the given settings would make qmail-smtpd an open relay ([] = none).

    rules: the final tcprules list; exports: variables exported to qmail-smtpd; chains: {field: words}
    run around qmail-smtpd; checkpassword: the AUTH checker's argv (or None); rcpthosts: the lines
    of control/rcpthosts (None = file absent), checked only when rcpthosts_checked.
    """
    problems = []
    for rule in rules or []:
        if not isinstance(rule, dict):
            _fail("each tcprules rule must be a dict with match, action, env; got %r" % (rule,))
        env = rule.get("env") or {}
        # The tcprules module writes a missing or null action as allow.
        if (rule.get("action") or "allow") != "allow" or "RELAYCLIENT" not in env:
            continue
        match = rule.get("match", "")
        form = _checked(addresses.parse, match, "tcprules match")
        if form.kind == addresses.NAME:
            problems.append(
                "tcprules match %r sets RELAYCLIENT by the client's host name: tcpserver takes that name from "
                "the PTR record of the client's address, which whoever controls that address's reverse DNS can "
                "set to any name, yours included; give RELAYCLIENT to addresses or networks (such as "
                "'192.0.2.0/24') or let clients relay after SMTP AUTH" % (match,))
        elif form.addresses > _MAX_RELAY_ADDRESSES:
            problems.append(
                "tcprules match %r sets RELAYCLIENT for %s addresses: anyone there could relay mail "
                "through this host without authenticating; name your own networks (at most a /8 such as "
                "'10.' or '10.0.0.0/8') or let clients relay after SMTP AUTH"
                % (match, "all" if form.addresses == addresses.ALL_ADDRESSES else form.addresses))
    for name in (exports or {}):
        if name == "RELAYCLIENT":
            problems.append("RELAYCLIENT is exported to every qmail-smtpd connection: that makes the host an open "
                            "relay; give RELAYCLIENT to trusted networks through the tcprules list instead")
    for field, words in (chains or {}).items():
        text = " ".join(words) if isinstance(words, list) else str(words or "")
        if "RELAYCLIENT" in text:
            problems.append("%s sets RELAYCLIENT for every connection (%r): that makes the host an open relay"
                            % (field, text))
    if checkpassword:
        program = checkpassword[0]
        if program in _ALWAYS_TRUE or program.rsplit("/", 1)[-1] == "true":
            problems.append("the SMTP AUTH password checker is %r, which accepts every password: anyone could "
                            "authenticate and relay" % program)
    if rcpthosts_checked:
        entries = [line.strip() for line in (rcpthosts or []) if line.strip() and not line.startswith("#")]
        if rcpthosts is None:
            problems.append("control/rcpthosts is missing: qmail-smtpd then accepts mail for every domain "
                            "and relays it; list the domains this host receives mail for (the send role's "
                            "rcpthosts) before enabling qmail-smtpd")
        elif not entries:
            problems.append("control/rcpthosts is empty: qmail-smtpd then refuses every recipient (553) and "
                            "receives no mail; list the domains this host receives mail for (the send role's "
                            "rcpthosts)")
    return problems


def smtpd_auth(flavour, me, auth, required=False, field="smtp_auth"):
    """qmail-smtpd's argument words and environment for SMTP AUTH in the given flavour.

    auth: the smtp_auth role's published settings ({command: [...], env: {}, mechanisms: [],
    force_tls: bool}) or None for no AUTH. required: AUTH must precede MAIL (submission).
    Returns {"post": [words after qmail-smtpd], "env": {exported variables}}.
    """
    if not auth:
        if required:
            _fail("%s requires SMTP AUTH, but no password checker is configured: apply the "
                  "mailops.qmail.smtp_auth role before this one" % field)
        return {"post": [], "env": {}}
    _checked(require, flavour, "smtpd_auth", field)
    command = list(auth.get("command") or [])
    if not command:
        _fail("%s: the password checker command is empty" % field)
    shell_words(command, field + ".command")
    mechanisms = [m.upper() for m in auth.get("mechanisms") or ["PLAIN", "LOGIN"]]
    offered = flavour_info(flavour)["smtpd_auth_mechanisms"]
    missing = [m for m in mechanisms if m not in offered]
    if missing:
        _fail("%s.mechanisms %s: the %r flavour offers only %s" % (field, missing, flavour, ", ".join(offered)))
    env = dict(auth.get("env") or {})
    argv_style = flavour_info(flavour)["smtpd_auth_argv"]
    if argv_style == "hostname":
        if not me:
            _fail("%s: the %r flavour needs the host name (qmail_me) as qmail-smtpd's first argument" % (field, flavour))
        post = [me] + command + ["/bin/true"]
    else:
        post = command + ["/bin/true"]
    if supports(flavour, "smtpd_auth_env"):
        # fehcom's SMTPAUTH: "" = LOGIN PLAIN, "+cram" adds CRAM-MD5, "cram" = CRAM-MD5 only; "!" = required.
        if "CRAM-MD5" in mechanisms:
            value = "+cram" if ("PLAIN" in mechanisms or "LOGIN" in mechanisms) else "cram"
        else:
            value = ""
        if required:
            # "!" in front keeps the rest: "!+cram" is LOGIN PLAIN CRAM-MD5, "!cram" CRAM-MD5 alone.
            value = "!" + value
        env["SMTPAUTH"] = value
        env["FORCETLS"] = "1" if auth.get("force_tls", True) else "0"
    else:
        if required:
            _checked(require, flavour, "smtpd_auth_env", field)
        if "force_tls" in auth and auth["force_tls"]:
            _fail("%s.force_tls: the %r flavour has no FORCETLS setting; set it to false" % (field, flavour))
    return {"post": post, "env": env}


SMTPS_METHODS = ("auto", "native", "stunnel")

# What qmail-smtpd must be told when stunnel speaks the TLS in front of it, since it sees a clear-text
# session. sagredo (qmail-smtpd.c, branch no-chkuser-vpopmail): FORCETLS=0, or AUTH answers 538 until
# a STARTTLS that must not happen; DISABLETLS=1 hides STARTTLS and answers it 502, so no client tries
# TLS inside TLS.
_STUNNEL_SMTPD_ENV = {
    "sagredo": {"FORCETLS": "0", "DISABLETLS": "1"},
}


def _flavours_with(feature):
    return ", ".join(sorted(name for name, info in FLAVOURS.items() if info.get(feature)))


def smtps_method(flavour, tls="auto", field="smtpd_smtps_tls"):
    """How qmail-smtpsd speaks implicit TLS: 'native' (qmail-smtpd's own SMTPS mode) or 'stunnel'.

    tls: the role's choice; auto = native where the flavour has it, else stunnel. Implicit-TLS
    submission requires AUTH before MAIL (RFC 8314, as submission on 587), so a flavour whose
    qmail-smtpd cannot require it is refused either way: stunnel adds the TLS, not the AUTH.
    """
    if tls not in SMTPS_METHODS:
        _fail("%s=%r: choose one of %s" % (field, tls, ", ".join(SMTPS_METHODS)))
    if not _checked(supports, flavour, "smtpd_auth_env"):
        _fail("smtpd_smtps_enabled: implicit-TLS submission requires SMTP AUTH before MAIL, and the %r flavour's "
              "qmail-smtpd cannot require it (stunnel adds the TLS, not the AUTH); turn it off or install a "
              "flavour that can (%s)" % (flavour, _flavours_with("smtpd_auth_env")))
    native = supports(flavour, "smtpd_smtps")
    if tls == "native" and not native:
        _fail("%s=native: the %r flavour's qmail-smtpd cannot speak TLS before its greeting (only %s can); "
              "set %s to stunnel or auto" % (field, flavour, _flavours_with("smtpd_smtps"), field))
    if tls == "auto":
        return "native" if native else "stunnel"
    return tls


def smtps_auth(flavour, me, auth, method):
    """qmail-smtpsd's AUTH words and environment for the method smtps_method chose.

    native: the submission wiring (AUTH required) plus SMTPS. stunnel: the same wiring, plus what
    the flavour needs behind stunnel.
    """
    field = "smtpd_smtps_enabled"
    if not auth:
        _fail("%s requires SMTP AUTH, but no password checker is configured: apply the "
              "mailops.qmail.smtp_auth role before this one" % field)
    if method not in ("native", "stunnel"):
        _fail("%s: unknown implicit-TLS method %r (native or stunnel)" % (field, method))
    wiring = smtpd_auth(flavour, me, auth, True, field)
    extra = {"SMTPS": "1"} if method == "native" else _STUNNEL_SMTPD_ENV.get(flavour, {})
    return {"post": wiring["post"], "env": dict(wiring["env"], **extra)}


# What control/localiphost names when relay tricks are refused: qmail-smtpd rewrites
# user@[its own IP] to user@LOCALIPHOST before the rcpthosts check, and this name is in no
# rcpthosts, so address literals get 553 from untrusted clients instead of local delivery.
RELAY_REJECT_LOCALIPHOST = "localiphost.invalid"


def smtpd_control_files(flavour, lists, databytes=None, relay_reject=False):
    """The control module's `files` for qmail-smtpd's own control files.

    lists: {badmailfrom: [...], badrcptto: [...], badmailto: [...], morebadrcptto: [...]}; an empty
    list means the file must be absent; a non-empty list for a file the flavour lacks is an error.
    relay_reject: refuse relay tricks at RCPT: '@', '%' or '!' in the local part through the
    flavour's own means (sagredo's rejectrelaytest; Gentoo's relay-reject patch needs no file), and
    address literals of this host on every flavour (localiphost).
    """
    needs = {"badrcptto": "badrcptto", "morebadrcptto": "morebadrcptto", "badmailto": "badmailto"}
    files = {"databytes": databytes,
             "localiphost": RELAY_REJECT_LOCALIPHOST if relay_reject else None}
    if supports(flavour, "rejectrelaytest"):
        files["rejectrelaytest"] = 1 if relay_reject else None
    for name, entries in lists.items():
        feature = needs.get(name)
        if entries:
            if feature:
                _checked(require, flavour, feature, "smtpd_" + name)
            files[name] = list(entries)
        elif feature is None or supports(flavour, feature):
            files[name] = None
    return files


# Parameter files each flavour's TLS code reads from the control directory. The old Gentoo patch
# named its temporary RSA key rsa512.pem; it gets a 2048-bit key all the same.
_TLS_PARAMS = {
    "gentoo": [
        {"name": "rsa512.pem", "type": "rsa", "size": 2048},
        {"name": "dh512.pem", "type": "dh", "size": 2048},
        {"name": "dh1024.pem", "type": "dh", "size": 2048},
    ],
}


def tls_param_files(flavour, key_size=2048):
    """Extra parameter files the flavour's TLS code wants; sizes never below key_size."""
    _checked(require, flavour, "smtpd_tls", "tls (qmail_flavour)")
    return [dict(entry, size=max(entry["size"], int(key_size))) for entry in _TLS_PARAMS.get(flavour, [])]


def _remote_host(host, field):
    """A host name that becomes a file name under control/: no trailing dot, which qmail-remote never looks up."""
    _checked(_hostname, str(host), field)
    if str(host).endswith("."):
        _fail("%s: %r ends with a dot; qmail-remote looks the host up without it" % (field, host))


def tls_remote_files(flavour, notls_hosts, verify_hosts):
    """control/notlshosts/HOST and control/tlshosts/HOST.pem files for qmail-remote's TLS.

    notls_hosts: hosts qmail-remote never uses TLS with; verify_hosts: {host: CA certificate PEM}
    whose certificates must verify. Returns [{"path": relative path, "content": text}].
    """
    files = []
    if not notls_hosts and not verify_hosts:
        return files
    _checked(require, flavour, "remote_tls", "tls_remote_notls_hosts/tls_remote_verify_hosts")
    for host in notls_hosts or []:
        _remote_host(host, "tls_remote_notls_hosts")
        files.append({"path": "notlshosts/%s" % host, "content": ""})
    for host, pem in sorted((verify_hosts or {}).items()):
        _remote_host(host, "tls_remote_verify_hosts")
        if "-----BEGIN CERTIFICATE-----" not in str(pem):
            _fail("tls_remote_verify_hosts[%r] must be a PEM CA certificate" % (host,))
        files.append({"path": "tlshosts/%s.pem" % host, "content": str(pem).rstrip("\n") + "\n"})
    return files


def _accounts(accounts, field):
    names = set()
    result = []
    for index, account in enumerate(accounts or []):
        if not isinstance(account, dict) or not account.get("name"):
            _fail("%s[%d] needs a 'name'" % (field, index))
        name = str(account["name"])
        if account.get("state", "present") == "absent":
            continue
        if re.search(r"[:\s]", name):
            _fail("%s[%d].name %r may not contain ':' or whitespace" % (field, index, name))
        if name in names:
            _fail("%s: account %r is listed twice" % (field, name))
        names.add(name)
        password = account.get("password")
        if not password or "\n" in str(password):
            _fail("%s: account %r needs a one-line 'password'" % (field, name))
        result.append((name, str(password), account))
    return result


def _existing_hashes(text):
    hashes = {}
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 2:
            hashes[fields[0]] = fields[1]
    return hashes


def pwfile(accounts, existing="", uid=0, gid=0, home="/", shell="/bin/false", field="smtp_auth_accounts"):
    """cvm-pwfile content (passwd(5) format, SHA-512 crypt hashes, CVM_PWFILE_PWCMP=crypt).

    A hash already in `existing` that still matches the password is kept, so an unchanged
    account list leaves the file unchanged. Entries default to uid/gid/home: for SMTP AUTH these
    are qmail-smtpd's own ids, since cvm-checkpassword switches to them and qmaild cannot switch.
    """
    if not HAS_PASSLIB:
        _fail("passlib is needed on the controller to hash %s (pip install passlib)" % field)
    old = _existing_hashes(existing)
    lines = []
    for name, password, account in _accounts(accounts, field):
        entry_uid = account.get("uid", uid)
        current = old.get(name, "")
        if current.startswith("$6$") and sha512_crypt.verify(password, current):
            hashed = current
        else:
            hashed = sha512_crypt.using(rounds=5000).hash(password)
        lines.append(":".join(str(part) for part in (
            name, hashed, entry_uid, account.get("gid", gid), account.get("realname", ""),
            account.get("home", home), account.get("shell", shell))))
    return "".join(line + "\n" for line in lines)


def mailbox_pwfile(accounts, existing="", passwd=None, strict=True, field="pop3d_accounts"):
    """cvm-pwfile content for POP3 logins, each opening the mailbox of a local user.

    accounts: [{name, password, system_user, state}]; passwd: getent's passwd database
    ({user: [x, uid, gid, gecos, home, shell]}). An entry carries its system user's uid, gid and home,
    which cvm-checkpassword switches to before qmail-pop3d opens the maildir. strict=False (check
    mode, before the user exists) writes 0 for the ids of users not yet there.
    """
    resolved = []
    for index, account in enumerate(accounts or []):
        if isinstance(account, dict) and account.get("name") and account.get("state", "present") != "absent":
            user = account.get("system_user")
            if not user or not isinstance(user, str):
                _fail("%s[%d] (%s) needs a 'system_user': the local account whose mailbox the login opens"
                      % (field, index, account["name"]))
            entry = (passwd or {}).get(user)
            if entry is None and strict:
                _fail("%s[%d].system_user %r is not an account on this host" % (field, index, user))
            entry = entry or ["x", 0, 0, "", "/nonexistent", "/bin/false"]
            account = dict(account, uid=entry[1], gid=entry[2], home=entry[4], shell=entry[5])
        resolved.append(account)
    return pwfile(resolved, existing, field=field)


def poppasswd(accounts, field="smtp_auth_accounts"):
    """/etc/poppasswd for cmd5checkpw: login:clear-text password:system user:home (CRAM-MD5 needs clear text)."""
    lines = []
    for name, password, account in _accounts(accounts, field):
        if ":" in password:
            _fail("%s: the password of %r may not contain ':' in /etc/poppasswd" % (field, name))
        lines.append("%s:%s:%s:%s" % (name, password, account.get("system_user", name), account.get("home", "")))
    return "".join(line + "\n" for line in lines)


def flavour_supports(flavour, feature):
    """Whether the flavour has the feature (a name of module_utils/flavours.FEATURE_NAMES)."""
    return _checked(supports, flavour, feature)


class FilterModule(object):
    """Filters of the network service roles."""

    def filters(self):
        return {
            "qmail_ports": ports,
            "qmail_supports": flavour_supports,
            "qmail_shell_words": shell_words,
            "qmail_shell_assignments": shell_assignments,
            "qmail_relay_rules": relay_rules,
            "qmail_restricted_rules": restricted_rules,
            "qmail_rblsmtpd_words": rblsmtpd_words,
            "qmail_open_relay_problems": open_relay_problems,
            "qmail_smtpd_auth": smtpd_auth,
            "qmail_smtps_method": smtps_method,
            "qmail_smtps_auth": smtps_auth,
            "qmail_smtpd_control_files": smtpd_control_files,
            "qmail_tls_param_files": tls_param_files,
            "qmail_tls_remote_files": tls_remote_files,
            "qmail_pwfile": pwfile,
            "qmail_poppasswd": poppasswd,
            "qmail_mailbox_pwfile": mailbox_pwfile,
        }
