# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge a play's variables before any role of the play writes anything.

A refused run must change nothing: a check that reads a file back after one role wrote it comes
too late (a refused run once deleted rcpthosts and left a live open relay). So every check that can
refuse a setting is a function of the variables alone, run by the action mailops.qmail.preflight
first in the play, in check mode too. Each problem names the variable as the user wrote it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.mailops.qmail.plugins.filter import network
from ansible_collections.mailops.qmail.plugins.module_utils import control, dkim, dotqmail, tcprules, validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
from ansible_collections.mailops.qmail.plugins.plugin_utils import content_filter, imapd, tls_acme

# The collection's roles whose variables the preflight judges, and the roles they bring in.
CHECKED_ROLES = ("mta_swap", "send", "tls", "smtp_auth", "relay_ctrl", "smtpd", "pop3d", "imapd", "qmtpd",
                 "smarthost", "content_filter", "dkim")
DEPENDENCIES = {
    "mta_swap": ("qmail",),
    "send": ("qmail", "daemontools"),
    "tls": ("qmail", "daemontools"),
    "smtp_auth": ("qmail", "daemontools"),
    "relay_ctrl": ("qmail", "daemontools"),
    "smtpd": ("qmail", "daemontools", "tcpserver"),
    "pop3d": ("qmail", "daemontools", "tcpserver"),
    "imapd": (),
    "dkim": (),
    "content_filter": ("qmail",),
    "qmtpd": ("qmail", "daemontools", "tcpserver"),
    "smarthost": ("qmail",),
}
# Backends whose only accounts are smtp_auth_accounts: with none, AUTH is offered and never succeeds.
_ACCOUNT_BACKENDS = ("auto", "cvm-pwfile", "cmd5checkpw")

_MISSING = object()

# Control files another role writes: send_control_files may not set them too, or the two roles
# would rewrite the file in turn on every run.
OWNED_CONTROL_FILES = {
    "databytes": ("smtpd", "smtpd_databytes"),
    "badmailfrom": ("smtpd", "smtpd_badmailfrom"),
    "badrcptto": ("smtpd", "smtpd_badrcptto"),
    "morebadrcptto": ("smtpd", "smtpd_morebadrcptto"),
    "badmailto": ("smtpd", "smtpd_badmailto"),
    "localiphost": ("smtpd", "smtpd_relay_reject"),
    "rejectrelaytest": ("smtpd", "smtpd_relay_reject"),
    "validrcptto": ("smtpd", "smtpd_recipient_check"),
    "concurrencyincoming": ("tcpserver", "tcpserver_max_connections"),
    "smtproutes": ("smarthost", "smarthost_routes"),
}


class Variables(object):
    """The variables of the play as the roles would see them: get(name) templates on demand."""

    def __init__(self, lookup):
        self._lookup = lookup

    def get(self, name, default=_MISSING):
        try:
            return self._lookup(name)
        except KeyError:
            if default is _MISSING:
                raise
            return default

    def flag(self, name, default=False):
        value = self.get(name, default)
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise ValidationError("%s: %r is not a boolean (true or false)" % (name, value))


def with_dependencies(roles):
    """The roles and everything they bring in, in a stable order."""
    result = []
    for role in roles:
        for name in DEPENDENCIES.get(role, ()) + (role,):
            if name not in result:
                result.append(name)
    return result


def _collect(problems, check, *args):
    """Run a check that returns a list of problems; an error it raises becomes one problem."""
    try:
        found = check(*args)
    except (ValidationError, control.ControlError, AnsibleError) as exc:
        problems.append(str(getattr(exc, "message", None) or exc))
        return
    problems.extend(found)


def _valid(problems, validator, *args):
    """Run a validator (which returns the value it accepts); its refusal becomes one problem."""
    _collect(problems, lambda: (validator(*args), [])[1])


def _accepted(problems, validator, *args):
    """_valid that also says whether the value was accepted."""
    before = len(problems)
    _valid(problems, validator, *args)
    return len(problems) == before


def _as_list(value):
    if value is None:
        return None
    return [value] if isinstance(value, (str, int)) else list(value)


def rcpthosts_problems(files, flavour):
    """What control/rcpthosts as send would write means for qmail-smtpd (files: send's merged control files)."""
    rcpthosts = _as_list(files.get("rcpthosts"))
    more = _as_list(files.get("morercpthosts")) or []
    if rcpthosts is None:
        return ["send_control_files: rcpthosts is null, so control/rcpthosts would be absent: qmail-smtpd then "
                "accepts mail for every domain and relays it (an open relay). List the domains this host receives "
                "mail for"]
    if not rcpthosts and not more:
        return ["send_control_files: rcpthosts is empty, so qmail-smtpd (%s flavour) would refuse every recipient "
                "with 553 and the host would receive no mail at all. List the domains this host receives mail for"
                % flavour]
    return []


def send_problems(var, roles):
    problems = []
    _valid(problems, validate.hostname, var.get("qmail_me", ""), "qmail_me")
    admin = var.get("send_admin_address", "")
    if admin:
        _valid(problems, dotqmail.forward_address, admin, "send_admin_address")
    maildir = var.get("send_maildir_name", "")
    if maildir:
        _valid(problems, dotqmail.path_component, maildir, "send_maildir_name")
    if var.get("send_delivery", "maildir") == "custom":
        lines = var.get("send_delivery_custom", []) or []
        for index, line in enumerate(lines):
            _valid(problems, dotqmail.line_kind, line, "send_delivery_custom[%d]" % index)
        if not [line for line in lines if isinstance(line, str) and not line.startswith("#")]:
            problems.append("send_delivery_custom: send_delivery is custom, but no line delivers anything")
    own = var.get("send_control_files", {}) or {}
    applied = with_dependencies(roles)
    for name in sorted(own):
        owner = OWNED_CONTROL_FILES.get(name)
        if owner and owner[0] in applied:
            problems.append("send_control_files.%s: control/%s is written by role %s from %s; set it there only"
                            % (name, name, owner[0], owner[1]))
    defaults = var.get("send_control_defaults", {}) or {}
    files = dict(defaults)
    files.update(own)
    flavour = var.get("qmail_flavour", "")
    names = {name: "send_control_defaults.%s" % name for name in defaults}
    names.update({name: "send_control_files.%s" % name for name in own})
    _valid(problems, control_files, files, flavour, names)
    if "smtpd" in roles:
        problems.extend(rcpthosts_problems(files, flavour))
    return problems


def control_files(files, flavour, variables):
    """Judge control files as mailops.qmail.control will write them, naming the variables."""
    return control.plan("/var/qmail/control", files, flavour, variables=variables)


def _checkpassword(var, roles):
    """The SMTP AUTH checker's argv as smtp_auth will publish it, when the user chose it by hand."""
    if "smtp_auth" not in roles:
        published = var.get("smtp_auth_smtpd", None)
        return (published or {}).get("command") if isinstance(published, dict) else None
    if var.get("smtp_auth_backend", "auto") == "program":
        return list(var.get("smtp_auth_program", []) or []) or None
    return None


SMTPD_CONTROL_LISTS = ("badmailfrom", "badrcptto", "morebadrcptto", "badmailto")


def rule_problems(var, name):
    """Judge a role's extra tcprules entries as the tcprules module will write them, by variable."""
    problems = []
    for index, rule in enumerate(var.get(name, []) or []):
        _valid(problems, tcprules.render_rule, rule, index, None, "%s[%d]" % (name, index))
    return problems


def smtpd_problems(var, roles):
    problems = []
    rbl = var.get("smtpd_rbl_servers", []) or []
    submission = var.flag("smtpd_submission_enabled")
    smtps = var.flag("smtpd_smtps_enabled")
    # Relay clients go into the rules of smtp and of submission: judge each entry once, by its
    # variable, and say which services it would open. An entry that cannot be written is reported
    # as such, once.
    services = "smtp (port %s)" % var.get("smtpd_port", 25)
    if submission:
        services += " and submission (port %s)" % var.get("smtpd_submission_port", 587)
    if smtps:
        services += " and implicit-TLS submission (port %s)" % var.get("smtpd_smtps_port", 465)
    entries = []
    for index, client in enumerate(var.get("smtpd_relay_clients", []) or []):
        variable = "smtpd_relay_clients[%d]" % index
        if _accepted(problems, tcprules.normalize_match, client, variable):
            entries.append((variable, services, {"match": client, "env": {"RELAYCLIENT": ""}}))
    for index, rule in enumerate(var.get("smtpd_tcprules_rules", []) or []):
        variable = "smtpd_tcprules_rules[%d]" % index
        if _accepted(problems, tcprules.render_rule, rule, index, None, variable):
            entries.append((variable, "smtp (port %s)" % var.get("smtpd_port", 25), rule))
    for variable, where, rule in entries:
        found = []
        _collect(found, network.open_relay_problems, [rule], {}, {}, None, None, False)
        problems.extend("%s, for %s: %s" % (variable, where, problem) for problem in found)
    exports = dict(var.get("smtpd_env", {}) or {})
    chains = {"smtpd_pre": var.get("smtpd_pre", []), "smtpd_rbl_servers": rbl}
    _collect(problems, network.open_relay_problems, [], exports, chains, _checkpassword(var, roles), None, False)
    lists = {name: var.get("smtpd_" + name, []) for name in SMTPD_CONTROL_LISTS}
    _valid(problems, lambda: control_files(
        network.smtpd_control_files(var.get("qmail_flavour", ""), lists, var.get("smtpd_databytes", None),
                                    var.flag("smtpd_relay_reject", True)),
        var.get("qmail_flavour", ""), {name: "smtpd_" + name for name in SMTPD_CONTROL_LISTS + ("databytes",)}))
    percenthack = (var.get("send_control_files", {}) or {}).get("percenthack") if "send" in roles else None
    if percenthack and var.flag("smtpd_relay_reject", True):
        problems.append("send_control_files.percenthack: qmail-smtpd refuses user%%domain@ addresses while "
                        "smtpd_relay_reject is true; set smtpd_relay_reject: false to accept the percent hack")
    for flag, service, enabled in (("smtpd_submission_enabled", "submission", submission),
                                   ("smtpd_smtps_enabled", "implicit-TLS submission", smtps)):
        if enabled and "smtp_auth" not in roles and not var.get("smtp_auth_smtpd", None):
            problems.append("%s: the %s service requires SMTP AUTH, but neither "
                            "mailops.qmail.smtp_auth is applied in this play nor its settings (smtp_auth_smtpd) are "
                            "known; add smtp_auth to mailops_qmail_services, before smtpd" % (flag, service))
    if smtps:
        # The role decides with the same function (its __smtpd_smtps_method), so the two cannot disagree.
        _valid(problems, network.smtps_method, var.get("qmail_flavour", ""), var.get("smtpd_smtps_tls", "auto"))
    return problems


def smtp_auth_problems(var):
    backend = var.get("smtp_auth_backend", "auto")
    accounts = [a for a in var.get("smtp_auth_accounts", []) or []
                if not isinstance(a, dict) or a.get("state", "present") != "absent"]
    if backend in _ACCOUNT_BACKENDS and not accounts:
        return ["smtp_auth_accounts is empty with smtp_auth_backend=%s: qmail-smtpd would offer AUTH that no "
                "login can pass. List the accounts, or choose backend checkpassword (system accounts)" % backend]
    if backend == "program" and not var.get("smtp_auth_program", []):
        return ["smtp_auth_program is empty with smtp_auth_backend=program: name the checkpassword-compatible "
                "program and its arguments"]
    return []


def listening_ports(var, roles):
    """{variable: port} of every service the play's roles would start on this host."""
    fields = {}
    if "smtpd" in roles:
        fields["smtpd_port"] = var.get("smtpd_port", 25)
        if var.flag("smtpd_submission_enabled"):
            fields["smtpd_submission_port"] = var.get("smtpd_submission_port", 587)
        if var.flag("smtpd_smtps_enabled"):
            fields["smtpd_smtps_port"] = var.get("smtpd_smtps_port", 465)
    if "pop3d" in roles:
        fields["pop3d_port"] = var.get("pop3d_port", 110)
        if var.flag("pop3d_tls_enabled"):
            fields["pop3d_tls_port"] = var.get("pop3d_tls_port", 995)
    if "imapd" in roles:
        fields.update(imapd.ports(var))
    if "content_filter" in roles:
        fields.update(content_filter.ports(var))
    if "qmtpd" in roles:
        if var.flag("qmtpd_qmtp_enabled"):
            fields["qmtpd_qmtp_port"] = var.get("qmtpd_qmtp_port", 209)
        if var.flag("qmtpd_qmqp_enabled"):
            fields["qmtpd_qmqp_port"] = var.get("qmtpd_qmqp_port", 628)
    return fields


# Roles that publish what later roles read (certificate, AUTH settings, relay-ctrl hooks): applied
# after their reader, the reader would silently serve without them.
PUBLISHERS = {"tls": ("smtpd", "pop3d", "imapd"), "smtp_auth": ("smtpd",), "relay_ctrl": ("smtpd", "pop3d"),
              "pop3d": ("imapd",), "content_filter": ("smtpd", "dkim"), "dkim": ("smtpd",)}


def order_problems(play_roles):
    """Refuse a play's `roles:` list that applies a reader before the role it reads from."""
    found = []
    for publisher, readers in sorted(PUBLISHERS.items()):
        if publisher not in play_roles:
            continue
        for reader in readers:
            if reader in play_roles and play_roles.index(reader) < play_roles.index(publisher):
                found.append("the play applies mailops.qmail.%s before mailops.qmail.%s, which it needs: "
                             "list %s first" % (reader, publisher, publisher))
    return found


def problems(var, roles, play_roles=()):
    """Every reason to refuse the play's settings for the given roles ([] = none).

    play_roles: the collection roles the play applies with `roles:`, in their order."""
    roles = set(roles)
    found = order_problems(list(play_roles))
    if "send" in roles:
        _collect(found, send_problems, var, roles)
    if "smtpd" in roles:
        _collect(found, smtpd_problems, var, roles)
    if "smtp_auth" in roles:
        _collect(found, smtp_auth_problems, var)
    if set(roles) & set(("smtpd", "pop3d", "qmtpd")):
        _valid(found, control_files, {"concurrencyincoming": var.get("tcpserver_max_connections", None)},
               var.get("qmail_flavour", ""), {"concurrencyincoming": "tcpserver_max_connections"})
    if "pop3d" in roles:
        found.extend(rule_problems(var, "pop3d_tcprules_rules"))
    if "qmtpd" in roles:
        found.extend(rule_problems(var, "qmtpd_qmtp_tcprules_rules"))
        for name in ("qmtpd_qmtp_relay_clients", "qmtpd_qmqp_clients"):
            for index, client in enumerate(var.get(name, []) or []):
                _valid(found, tcprules.normalize_match, client, "%s[%d]" % (name, index))
    if "tls" in roles:
        _collect(found, tls_acme.acme_problems, var)
    if "imapd" in roles:
        _collect(found, imapd.problems, var)
    if "dkim" in roles:
        _collect(found, dkim.problems, var)
    if "content_filter" in roles:
        _collect(found, content_filter.content_filter_problems, var)
    if "pop3d" in roles and var.get("pop3d_host", None):
        _valid(found, validate.hostname, var.get("pop3d_host"), "pop3d_host")
    if "mta_swap" in roles:
        _valid(found, var.flag, "mta_swap_require_qmail", True)
    _valid(found, lambda: network.ports(listening_ports(var, roles)))
    return found
