# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's judgement of mailops.qmail.imapd's variables (see plugin_utils/preflight.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mailops.qmail.plugins.module_utils import dovecot
from ansible_collections.mailops.qmail.plugins.module_utils.validate import collect

# Settings the role writes from its own variables (roles/imapd/vars/main.yml __imapd_owned_settings).
OWNED_SETTINGS = ("protocols", "listen", "mail_location", "ssl", "ssl_cert", "ssl_key", "ssl_min_protocol",
                  "disable_plaintext_auth", "auth_mechanisms")
AUTH = ("auto", "system", "pwfile")


def ports(var):
    """{variable: port} of what Dovecot listens on."""
    fields = {"imapd_port": var.get("imapd_port", 143)}
    if var.flag("imapd_imaps_enabled", True):
        fields["imapd_tls_port"] = var.get("imapd_tls_port", 993)
    return fields


def problems(var):
    """Every reason to refuse imapd's settings, each naming the variable."""
    found = []

    given = var.get("imapd_maildir", None)
    if given is None:
        collect(found, dovecot.maildir, var.get("send_maildir_name", None) or "Maildir",
                "send_maildir_name (imapd_maildir is null)")
    else:
        collect(found, dovecot.maildir, given, "imapd_maildir")
    collect(found, dovecot.listen, var.get("imapd_listen", ["*", "::"]), "imapd_listen")
    collect(found, dovecot.extra_settings, var.get("imapd_extra_settings", {}) or {}, OWNED_SETTINGS, "imapd_extra_settings")
    certificate, key = var.get("imapd_certificate", None), var.get("imapd_key", None)
    if (certificate is None) != (key is None):
        found.append("imapd_certificate is %r and imapd_key is %r: set both (a certificate and its key), or "
                     "neither to use those of mailops.qmail.tls" % (certificate, key))
    auth = var.get("imapd_auth", "auto")
    if auth not in AUTH:
        found.append("imapd_auth: %r is not one of %s" % (auth, ", ".join(AUTH)))
    elif auth == "auto" and var.get("pop3d_checkpassword", None) == "program":
        found.append("imapd_auth is auto, but pop3d_checkpassword is program, whose logins Dovecot cannot look "
                     "up: set imapd_auth to system (the host's accounts) or pwfile (pop3d's password file)")
    if var.get("send_delivery", "maildir") == "mbox":
        found.append("send_delivery is mbox: qmail delivers to ./Mailbox, and imapd serves maildirs only; set "
                     "send_delivery to maildir or leave imapd out")
    return found
