# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's judgement of mailops.qmail.content_filter's variables (see plugin_utils/preflight.py).

The settings qmail-filter reads are judged by qmail-filter's own parser (module_utils/qmail_filter.py),
the one that reads them on the host, with each refusal renamed to the role variable it came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.mailops.qmail.plugins.module_utils import flavours, qmail_filter, validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

# qmail-filter's setting: the role variable it comes from, and that variable's default
# (roles/content_filter/defaults/main.yml; a unit test holds the two together).
VARIABLES = {
    "spamd_timeout": ("content_filter_spamd_timeout", 60),
    "spamd_max_bytes": ("content_filter_spamd_max_bytes", 512000),
    "spam_action": ("content_filter_spam_action", "tag"),
    "tag_score": ("content_filter_tag_score", 5.0),
    "reject_score": ("content_filter_reject_score", 10.0),
    "clamd_enabled": ("content_filter_clamav_enabled", False),
    "clamd_timeout": ("content_filter_clamd_timeout", 60),
    "clamd_max_bytes": ("content_filter_clamd_max_bytes", 26214400),
    "virus_action": ("content_filter_virus_action", "reject"),
    "fail_open": ("content_filter_fail_open", False),
}
ADDRESS = ("content_filter_spamd_address", "127.0.0.1")
PORT = ("content_filter_spamd_port", 783)
MAX_CHILDREN = ("content_filter_spamd_max_children", 5)
FRESHCLAM = ("content_filter_clamav_freshclam", True)
NETWORK_TESTS = ("content_filter_spamd_network_tests", True)
MAX_SPAMD_CHILDREN = 1000


def ports(var):
    """{variable: port} of what the role listens on (spamd; clamd has a UNIX socket)."""
    return {PORT[0]: var.get(*PORT)}


def spamd_address(var):
    """spamd's address as qmail-filter reads it, HOST:PORT or [IPV6]:PORT; refused unless loopback."""
    address, port = var.get(*ADDRESS), var.get(*PORT)
    try:
        ip = ipaddress.ip_address(address if isinstance(address, str) else "")
    except ValueError:
        ip = None
    if ip is None or not ip.is_loopback:
        raise ValidationError("%s: %r is not a loopback address; give 127.0.0.1 (or another 127.x.y.z) or ::1, so "
                              "that spamd, which trusts its clients, cannot be reached from other hosts"
                              % (ADDRESS[0], address))
    if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isdigit() \
            or not 1 <= int(port) <= 65535:
        raise ValidationError("%s: %r is not a port; give a whole number from 1 to 65535" % (PORT[0], port))
    return ("[%s]:%d" if ip.version == 6 else "%s:%d") % (ip.compressed, int(port))


# Booleans: the role writes them through `| bool`, which takes yes/no as well.
FLAGS = ("clamd_enabled", "fail_open")


def settings(var):
    """qmail-filter's settings from the role variables, as the role writes them (scanner sockets aside)."""
    found = {setting: var.get(name, default) for setting, (name, default) in VARIABLES.items()}
    for setting in FLAGS:
        found[setting] = var.flag(*VARIABLES[setting])
    found["spamd_address"] = spamd_address(var)
    return found


def _renamed(message):
    """qmail-filter's refusal, naming the role variable instead of its own setting."""
    for setting, (name, dummy) in VARIABLES.items():
        if message.startswith(setting + ":"):
            return name + message[len(setting):]
    return message


def content_filter_problems(var):
    """Every reason to refuse content_filter's settings, each naming the variable ([] = none)."""
    found = []
    try:
        qmail_filter.parse_config(settings(var))
    except ValidationError as exc:
        found.append(_renamed(str(exc)))
    children = var.get(*MAX_CHILDREN)
    if isinstance(children, bool) or not isinstance(children, int) or not 1 <= children <= MAX_SPAMD_CHILDREN:
        found.append("%s: %r is not a number of processes; give a whole number from 1 to %d"
                     % (MAX_CHILDREN[0], children, MAX_SPAMD_CHILDREN))
    for flag in (FRESHCLAM, NETWORK_TESTS):
        validate.collect(found, var.flag, *flag)
    if var.get("smtpd_qmailqueue", None):
        found.append("smtpd_qmailqueue is %r, and content_filter would make qmail-smtpd run its own QMAILQUEUE "
                     "program (qmail-filter): qmail-smtpd runs only one. Set smtpd_qmailqueue to null to filter "
                     "with content_filter, or leave content_filter out of mailops_qmail_services"
                     % (var.get("smtpd_qmailqueue"),))
    try:
        flavours.require(var.get("qmail_flavour", "notqmail"), "qmailqueue", "content_filter")
    except flavours.FlavourError as exc:
        found.append(str(exc))
    return found
