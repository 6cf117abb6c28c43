# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's judgement of mailops.qmail.tls's ACME settings (tls_provider: acme).

Every refusal here happens before the role writes anything: an account key made for a directory
that is then refused, or a half-served challenge, would be left behind otherwise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

from urllib.parse import urlsplit

# The role's defaults (roles/tls/defaults/main.yml), which the play's variables may not contain.
DEFAULT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
CHALLENGES = ("http-01", "dns-01")
ACCOUNT_KEY_TYPES = ("ECC", "RSA")
# The longest renewal window that still means something: Let's Encrypt's certificates last 90
# days (shorter ones are coming), so a larger window would order a new certificate on every run.
MAX_RENEW_DAYS = 365
# The local part of a contact address as an ACME server accepts it in a mailto: URI.
_LOCAL_PART = re.compile(r"\A[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+\Z")


def _absolute_path(value, field, what):
    if not isinstance(value, str) or not value.startswith("/") or "\n" in value or "\x00" in value:
        raise ValidationError("%s: %r is not an absolute path on the host (%s)" % (field, value, what))


def directory_problem(url, allow_insecure):
    """Why the ACME directory URL cannot be used, or None."""
    field = "tls_acme_directory"
    if not isinstance(url, str) or not url:
        return "%s: %r is not a URL such as https://acme-v02.api.letsencrypt.org/directory" % (field, url)
    try:
        parts = urlsplit(url)
        # A port outside 0..65535 raises only when read: here, not later in the ACME module.
        host = (parts.hostname, parts.port)[0]
    except ValueError as exc:
        return "%s: %r is not a URL (%s)" % (field, url, exc)
    if parts.scheme == "http" and allow_insecure:
        pass
    elif parts.scheme != "https":
        return ("%s: %r does not use https; an ACME directory is reached over https only (a test "
                "server such as pebble may use http with tls_acme_allow_insecure_directory: true)" % (field, url))
    if not host or any(char.isspace() for char in url):
        return "%s: %r has no host name, or contains white space" % (field, url)
    return None


def email_problem(address):
    """Why the ACME account's contact address is unusable, or None (null means no contact)."""
    field = "tls_acme_email"
    if address is None:
        return None
    local, at, domain = address.rpartition("@") if isinstance(address, str) else ("", "", "")
    if not at or not _LOCAL_PART.match(local):
        return "%s: %r is not a mail address such as postmaster@example.com (or null for none)" % (field, address)
    try:
        validate.hostname(domain, field)
    except ValidationError:
        return "%s: %r does not end in a domain name such as example.com" % (field, address)
    return None


def domain_problems(domains, challenge):
    """Why the names to certify cannot be ordered ([] = none)."""
    field = "tls_acme_domains"
    if not isinstance(domains, list) or not domains:
        return ["%s: %r is not a non-empty list of host names (null means [qmail_me])" % (field, domains)]
    found = []
    for index, name in enumerate(domains):
        entry = "%s[%d]" % (field, index)
        wildcard = isinstance(name, str) and name.startswith("*.")
        if wildcard and challenge != "dns-01":
            found.append("%s: %r is a wildcard, which an ACME server certifies only through dns-01; set "
                         "tls_acme_challenge: dns-01 (with tls_acme_dns_hook) or list the names" % (entry, name))
            continue
        try:
            validate.hostname(name[2:] if wildcard else name, entry)
        except ValidationError as exc:
            found.append(str(exc))
            continue
        if name.lower() in [other.lower() for other in domains[:index] if isinstance(other, str)]:
            found.append("%s: %r is listed twice" % (entry, name))
    return found


def acme_problems(var):
    """Every reason to refuse the ACME settings of mailops.qmail.tls, each naming its variable.

    var: the play's variables (plugin_utils/preflight.Variables: get(name, default), flag(name)).
    Settings of the other providers are not judged here; with another provider this returns []."""
    if var.get("tls_provider", "selfsigned") != "acme":
        return []
    found = []

    def flag(name):
        try:
            return var.flag(name, False)
        except ValidationError as exc:
            found.append(str(exc))
            return None

    problem = directory_problem(var.get("tls_acme_directory", DEFAULT_DIRECTORY), flag("tls_acme_allow_insecure_directory"))
    if problem:
        found.append(problem)
    if flag("tls_acme_terms_agreed") is False:
        found.append("tls_acme_terms_agreed: false; an ACME server opens an account only for someone who agrees "
                     "to its terms of service: read them (the directory's meta.termsOfService) and set true")
    problem = email_problem(var.get("tls_acme_email", None))
    if problem:
        found.append(problem)

    challenge = var.get("tls_acme_challenge", "http-01")
    if challenge not in CHALLENGES:
        found.append("tls_acme_challenge: %r is not one of %s" % (challenge, ", ".join(CHALLENGES)))
    domains = var.get("tls_acme_domains", None)
    if domains is None:
        domains = [var.get("qmail_me", None)]
        validate.collect(found, validate.hostname, domains[0], "qmail_me (tls_acme_domains is null)")
    else:
        found.extend(domain_problems(domains, challenge))
    validate.collect(found, validate.integer, var.get("tls_acme_renew_days", 30), "tls_acme_renew_days", 1,
                     MAX_RENEW_DAYS, " (days before expiry at which a new certificate is ordered)")
    validate.collect(found, validate.port, var.get("tls_acme_http_port", 80), "tls_acme_http_port")
    webroot = var.get("tls_acme_webroot", None)
    if webroot is not None:
        validate.collect(found, _absolute_path, webroot, "tls_acme_webroot",
                         "the document root your web server serves for every name in tls_acme_domains, or null")
    hook = var.get("tls_acme_dns_hook", None)
    if challenge == "dns-01" and not hook:
        found.append("tls_acme_dns_hook: %r; tls_acme_challenge dns-01 needs the absolute path of a program that "
                     "publishes and removes the TXT records (see the role's documentation)" % (hook,))
    elif hook is not None:
        validate.collect(found, _absolute_path, hook, "tls_acme_dns_hook", "a program called as HOOK deploy|clean RECORD VALUE")
    ca_path = var.get("tls_acme_ca_path", None)
    if ca_path is not None:
        validate.collect(found, _absolute_path, ca_path, "tls_acme_ca_path", "a PEM file of CA certificates on the host, or null")
    key_type = var.get("tls_acme_account_key_type", "ECC")
    if key_type not in ACCOUNT_KEY_TYPES:
        found.append("tls_acme_account_key_type: %r is not one of %s" % (key_type, ", ".join(ACCOUNT_KEY_TYPES)))
    for name in ("tls_key_file", "tls_cert_file"):
        if var.get(name, None) is not None:
            found.append("%s: %r is for tls_provider files; with acme the role keeps the key and certificate in "
                         "tls_dir, and mailops.qmail.imapd would otherwise serve the file named here"
                         % (name, var.get(name)))
    return found
