# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each qmail flavour can do: the single table every module, filter and role reads.

A flavour is the patch set the installed binaries were built with. A setting the installed flavour
cannot honour must fail with a clear message instead of silently doing nothing, so every
flavour-dependent decision in the collection goes through `require()` or `supports()` here.
Sources: docs/flavours.md (which cites the patch sets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FLAVOURS = {
    # netqmail + the Gentoo patch set of the seed guide (qregex-starttls-2way-auth, big-concurrency, ...)
    "gentoo": {
        "description": "netqmail with the Gentoo patch set (qregex-starttls-2way-auth, big-concurrency, reread-concurrency)",
        "smtpd_tls": True,
        "smtpd_auth": True,
        "smtpd_auth_mechanisms": ["PLAIN", "LOGIN", "CRAM-MD5"],
        # qmail-smtpd HOSTNAME CHECKPASSWORD SUBPROGRAM
        "smtpd_auth_argv": "hostname",
        # SMTPAUTH/FORCETLS variables choose mechanisms, AUTH-required and TLS-before-AUTH (fehcom auth)
        "smtpd_auth_env": False,
        "smtpd_smtps": False,
        "smtproutes_syntax": "base64",
        "big_concurrency": True,
        "reread_concurrency": True,
        "regex_bad_lists": True,
        "badmailto": True,
        "badrcptto": True,
        "bouncemaxbytes": True,
        "qmailqueue": True,
        "remote_tls": True,
        "morebadrcptto": True,
        "tarpit": False,
        "notipme": False,
        "relay_reject": True,
        "rejectrelaytest": False,
        "validrcptto": False,
    },
    # netqmail 1.06 + sagredo's patches (Vermeulen TLS, fehcom auth, force-tls, qregex, ...)
    "sagredo": {
        "description": "netqmail 1.06 with sagredo's combined patches (TLS, fehcom SMTP AUTH, qregex, channels)",
        "smtpd_tls": True,
        "smtpd_auth": True,
        "smtpd_auth_mechanisms": ["PLAIN", "LOGIN", "CRAM-MD5"],
        # qmail-smtpd CHECKPASSWORD SUBPROGRAM, mechanisms chosen by $SMTPAUTH
        "smtpd_auth_argv": "checkpassword",
        "smtpd_auth_env": True,
        # qmail-smtpd.c: SMTPS set (any value) runs tls_init() before the greeting (implicit TLS)
        "smtpd_smtps": True,
        "smtproutes_syntax": "pipe",
        "big_concurrency": False,
        "reread_concurrency": False,
        "regex_bad_lists": True,
        "badmailto": False,
        "badrcptto": True,
        "bouncemaxbytes": True,
        "qmailqueue": True,
        "remote_tls": True,
        "morebadrcptto": False,
        "tarpit": False,
        "notipme": True,
        "relay_reject": True,
        "rejectrelaytest": True,
        "validrcptto": True,
    },
    # netqmail + John Simpson's combined patch (qmail-remote-auth by Tom Clegg)
    "jms": {
        "description": "netqmail with John Simpson's combined patch",
        "smtpd_tls": True,
        "smtpd_auth": True,
        "smtpd_auth_mechanisms": ["PLAIN", "LOGIN"],
        "smtpd_auth_argv": "checkpassword",
        "smtpd_auth_env": False,
        "smtpd_smtps": False,
        "smtproutes_syntax": "space",
        "big_concurrency": False,
        "reread_concurrency": False,
        "regex_bad_lists": False,
        "badmailto": False,
        "badrcptto": False,
        "bouncemaxbytes": False,
        "qmailqueue": True,
        "remote_tls": True,
        "morebadrcptto": False,
        "tarpit": False,
        "notipme": False,
        "relay_reject": False,
        "rejectrelaytest": False,
        "validrcptto": False,
    },
    # the maintained successor of netqmail, deliberately minimal
    "notqmail": {
        "description": "notqmail, the maintained successor of netqmail (no TLS, no AUTH)",
        "smtpd_tls": False,
        "smtpd_auth": False,
        "smtpd_auth_mechanisms": [],
        "smtpd_auth_argv": None,
        "smtpd_auth_env": False,
        "smtpd_smtps": False,
        "smtproutes_syntax": "classic",
        "big_concurrency": False,
        "reread_concurrency": False,
        "regex_bad_lists": False,
        "badmailto": False,
        "badrcptto": False,
        "bouncemaxbytes": False,
        "qmailqueue": True,
        "remote_tls": False,
        "morebadrcptto": False,
        "tarpit": False,
        "notipme": False,
        "relay_reject": False,
        "rejectrelaytest": False,
        "validrcptto": False,
    },
}

DEFAULT_FLAVOUR = "notqmail"

FEATURE_NAMES = {
    "smtpd_tls": "STARTTLS in qmail-smtpd",
    "smtpd_auth": "SMTP AUTH in qmail-smtpd",
    "smtpd_auth_env": "the SMTPAUTH/FORCETLS variables of fehcom's SMTP AUTH (AUTH required, TLS before AUTH)",
    "smtpd_smtps": "implicit TLS in qmail-smtpd (the SMTPS variable: TLS before the greeting, RFC 8314)",
    "big_concurrency": "concurrency limits above 255 (big-concurrency patch)",
    "reread_concurrency": "rereading concurrency* on HUP (reread-concurrency patch)",
    "regex_bad_lists": "regular expressions in badmailfrom/badmailto (qregex patch)",
    "badmailto": "control/badmailto (qregex patch)",
    "badrcptto": "control/badrcptto",
    "morebadrcptto": "control/morebadrcptto (Gentoo's badrcptto-morebadrcptto patch)",
    "tarpit": "control/tarpitcount and tarpitdelay (a tarpitting patch)",
    "notipme": "control/notipme (sagredo's ipme reader)",
    "relay_reject": "refusing relay tricks (percent hack, bang path, double @) at RCPT (Gentoo's relay-reject patch, sagredo's rejectrelaytest)",
    "rejectrelaytest": "control/rejectrelaytest (sagredo)",
    "validrcptto": "refusing unknown recipients at RCPT (sagredo's control/validrcptto)",
    "bouncemaxbytes": "control/bouncemaxbytes (qmail-limit-bounce-size patch)",
    "qmailqueue": "the QMAILQUEUE variable (qmailqueue patch)",
    "remote_tls": "TLS in qmail-remote",
}


class FlavourError(ValueError):
    """A setting asks for something the flavour lacks, or the flavour is unknown."""


def flavour_info(flavour):
    try:
        return FLAVOURS[flavour]
    except KeyError:
        raise FlavourError("unknown qmail flavour %r; choose one of %s"
                           % (flavour, ", ".join(sorted(FLAVOURS))))


def supports(flavour, feature):
    """Return True when the flavour has the feature (an entry of FEATURE_NAMES)."""
    return bool(flavour_info(flavour).get(feature))


def require(flavour, feature, field):
    """Fail with a message naming the field when the flavour lacks the feature."""
    if not supports(flavour, feature):
        raise FlavourError(
            "%s needs %s, which the %r qmail flavour does not have; remove the setting or "
            "install a flavour that has it (%s)"
            % (field, FEATURE_NAMES.get(feature, feature), flavour,
               ", ".join(sorted(f for f in FLAVOURS if FLAVOURS[f].get(feature))) or "none"))
