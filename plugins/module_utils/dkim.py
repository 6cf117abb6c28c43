# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DKIM signing for qmail: the settings' grammar, the keys, and the signing step.

Three readers share this file. The role and the preflight validate `dkim_domains` with it; the
module mailops.qmail.dkim_key creates keys and extracts the public key with it (`cryptography`);
and the signer qmail-dkim-sign (roles/dkim/files), a QMAILQUEUE program, signs with it through
dkimpy (Debian python3-dkim). On the mail host it is installed beside the signer as
mailops_dkim.py: its own name must not shadow dkimpy's package `dkim`.

Key files are PEM: RSA as PKCS#1 (`BEGIN RSA PRIVATE KEY`, what dkimpy parses and what sagredo's
dknewkey writes), ed25519 as PKCS#8 (`BEGIN PRIVATE KEY`), whose 32-byte seed dkimpy takes in base64.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import collections
import json
import re

try:
    from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError, collect, hostname
except ImportError:
    # On the mail host the signer installs validate.py beside this file under this name.
    from mailops_validate import ValidationError, collect, hostname  # pylint: disable=import-error

try:
    import dkim as dkimpy
    HAS_DKIMPY = True
except (ImportError, RuntimeError):
    # dkimpy raises RuntimeError at import when no DNS library is installed; only the signer needs it.
    dkimpy = None
    HAS_DKIMPY = False

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    HAS_CRYPTOGRAPHY = True
except ImportError:
    # Only key creation and public-key extraction need it; the signer does not.
    HAS_CRYPTOGRAPHY = False

RSA = "rsa-sha256"
ED25519 = "ed25519-sha256"
ALGORITHMS = (RSA, ED25519)
# The k= tag of the DNS record, per algorithm (RFC 6376 3.6.1, RFC 8463 4.2).
KEY_TYPES = {RSA: "rsa", ED25519: "ed25519"}
MIN_RSA_BITS = 2048
# A 4096-bit key's record (about 740 characters) is the largest that still fits comfortably in one
# DNS answer over UDP; larger keys gain nothing a verifier honours.
MAX_RSA_BITS = 4096
DEFAULT_RSA_BITS = 2048
CANONICALIZATIONS = ("relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple")
DEFAULT_CANONICALIZATION = "relaxed/relaxed"
DEFER = "defer"
SEND = "send"
UNSIGNABLE_CHOICES = (DEFER, SEND)
# RFC 6376 5.4.1's list, less the resent-* and list-* fields a sending host rarely writes.
DEFAULT_HEADERS = (
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
    "mime-version", "content-type", "content-transfer-encoding", "in-reply-to", "references",
)
# RFC 6376 5.4: fields that relays add or change, so that signing them breaks the signature.
NEVER_SIGNED = ("return-path", "received", "comments", "keywords", "bcc", "resent-bcc", "dkim-signature")

# qmail.c's reply per exit status of a QMAILQUEUE program: 71 is "Zmail server temporarily
# rejected message (#4.3.0)", a deferral; the client (qmail-smtpd: 451, qmail-inject) keeps the mail.
EXIT_DEFER = 71
EXIT_CONFIG = 55

_SELECTOR = re.compile(r"\A[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
# RFC 5322 field name: printable ASCII except the colon.
_FIELD_NAME = re.compile(r"\A[\x21-\x39\x3b-\x7e]+\Z")
# The DER prefix of an ed25519 PKCS#8 PrivateKeyInfo (RFC 8410 7): the 32-byte seed follows it.
_ED25519_PKCS8_PREFIX = binascii.unhexlify("302e020100300506032b657004220420")
_PEM_BODY = re.compile(br"-----BEGIN ([A-Z ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)

SigningKey = collections.namedtuple("SigningKey", "domain selector algorithm key_file")
Config = collections.namedtuple("Config", "keys headers canonicalization unsignable queue_program")


class UnsignableError(Exception):
    """A message of a signing domain that could not be signed; the reason goes to the log."""


def selector(value, field):
    """A selector: one DNS label (no dot), as `SELECTOR._domainkey.DOMAIN` is looked up."""
    if not isinstance(value, str) or not _SELECTOR.match(value):
        raise ValidationError(
            "%s: %r is not a selector; give one DNS label of letters, digits and '-' (no dot, "
            "at most 63 characters), such as mail2026" % (field, value))
    return value.lower()


def domain(value, field):
    """The signing domain (d=), lower-case, without a final dot."""
    hostname(value, field)
    if "_" in value:
        raise ValidationError("%s: %r has '_', which no mail domain has; give a domain such as example.org"
                              % (field, value))
    return value.rstrip(".").lower()


def algorithm(value, field):
    if value not in ALGORITHMS:
        raise ValidationError("%s: %r is not a DKIM algorithm; give one of %s"
                              % (field, value, ", ".join(ALGORITHMS)))
    return value


def rsa_bits(value, field):
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_RSA_BITS <= value <= MAX_RSA_BITS \
            or value % 8:
        raise ValidationError(
            "%s: %r is not a usable RSA key size; give a multiple of 8 from %d to %d (verifiers "
            "refuse keys under %d bits)" % (field, value, MIN_RSA_BITS, MAX_RSA_BITS, MIN_RSA_BITS))
    return value


def canonicalization(value, field):
    if value not in CANONICALIZATIONS:
        raise ValidationError("%s: %r is not a canonicalization; give one of %s"
                              % (field, value, ", ".join(CANONICALIZATIONS)))
    return value


def unsignable(value, field):
    if value not in UNSIGNABLE_CHOICES:
        raise ValidationError("%s: %r is not one of %s (defer = temporary failure, the mail stays with "
                              "the sender; send = sent unsigned)" % (field, value, ", ".join(UNSIGNABLE_CHOICES)))
    return value


def headers(value, field):
    """The header fields to sign, lower-case, in order, each once; From must be among them."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError("%s: %r is not a list of header field names such as [from, to, subject]"
                              % (field, value))
    names = []
    for index, name in enumerate(value):
        if not isinstance(name, str) or not _FIELD_NAME.match(name):
            raise ValidationError("%s[%d]: %r is not a header field name (printable ASCII, no ':' or space)"
                                  % (field, index, name))
        name = name.lower()
        if name in NEVER_SIGNED:
            raise ValidationError("%s[%d]: %r is changed or added on the way, so signing it breaks the "
                                  "signature; leave out %s" % (field, index, name, ", ".join(NEVER_SIGNED)))
        if name not in names:
            names.append(name)
    if "from" not in names:
        raise ValidationError("%s: %r leaves out 'from', which RFC 6376 requires every signature to cover"
                              % (field, value))
    return names


def key_entry(entry, field):
    """One item of dkim_domains: {domain, selector, algorithm, bits, sign}, with defaults filled in."""
    if not isinstance(entry, dict):
        raise ValidationError("%s: %r is not a mapping with domain and selector" % (field, entry))
    unknown = sorted(set(entry) - {"domain", "selector", "algorithm", "bits", "sign"})
    if unknown:
        raise ValidationError("%s: unknown key(s) %s; give domain, selector, algorithm, bits, sign"
                              % (field, ", ".join(unknown)))
    for required in ("domain", "selector"):
        if entry.get(required) is None:
            raise ValidationError("%s.%s is missing" % (field, required))
    result = {
        "domain": domain(entry["domain"], field + ".domain"),
        "selector": selector(entry["selector"], field + ".selector"),
        "algorithm": algorithm(entry.get("algorithm", RSA), field + ".algorithm"),
        "sign": entry.get("sign", True),
    }
    if not isinstance(result["sign"], bool):
        raise ValidationError("%s.sign: %r is not a boolean; give true (signs) or false (published only)"
                              % (field, result["sign"]))
    bits = entry.get("bits")
    if result["algorithm"] == RSA:
        result["bits"] = rsa_bits(DEFAULT_RSA_BITS if bits is None else bits, field + ".bits")
    elif bits is not None:
        raise ValidationError("%s.bits: %r is set for %s, whose keys have no size; leave it out"
                              % (field, bits, ED25519))
    else:
        result["bits"] = None
    return result


def key_entries(entries, field):
    """dkim_domains validated: each (domain, selector) once.

    A domain whose selectors all have sign: false is allowed: its first key is published before
    any mail is signed with it, as a new selector is in a rotation.
    """
    if not isinstance(entries, (list, tuple)):
        raise ValidationError("%s: %r is not a list of {domain, selector} entries" % (field, entries))
    result, seen = [], {}
    for index, entry in enumerate(entries):
        item = key_entry(entry, "%s[%d]" % (field, index))
        name = (item["domain"], item["selector"])
        if name in seen:
            raise ValidationError("%s[%d]: selector %r of %s is already %s[%d]; one key per selector"
                                  % (field, index, item["selector"], item["domain"], field, seen[name]))
        seen[name] = index
        result.append(item)
    return result


def key_file(key_dir, domain_name, selector_name):
    """Where the key of a selector lives: KEY_DIR/DOMAIN/SELECTOR.private."""
    return "%s/%s/%s.private" % (key_dir.rstrip("/"), domain_name, selector_name)


def parse_config(settings, source="configuration"):
    """The signer's configuration, from the JSON object the role writes."""
    if not isinstance(settings, dict):
        raise ValidationError("%s: not a JSON object" % source)
    keys = collections.OrderedDict()
    raw_keys = settings.get("keys")
    if not isinstance(raw_keys, list):
        raise ValidationError("%s: keys: %r is not a list" % (source, raw_keys))
    for index, entry in enumerate(raw_keys):
        field = "%s: keys[%d]" % (source, index)
        if not isinstance(entry, dict):
            raise ValidationError("%s: %r is not an object" % (field, entry))
        path = entry.get("key_file")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValidationError("%s.key_file: %r is not an absolute path" % (field, path))
        key = SigningKey(domain(entry.get("domain"), field + ".domain"),
                         selector(entry.get("selector"), field + ".selector"),
                         algorithm(entry.get("algorithm"), field + ".algorithm"), path)
        keys.setdefault(key.domain, []).append(key)
    queue_program = settings.get("queue_program", "/var/qmail/bin/qmail-queue")
    if not isinstance(queue_program, str) or not queue_program.startswith("/"):
        raise ValidationError("%s: queue_program: %r is not an absolute path" % (source, queue_program))
    return Config(
        keys=keys,
        headers=headers(settings.get("headers", list(DEFAULT_HEADERS)), source + ": headers"),
        canonicalization=canonicalization(settings.get("canonicalization", DEFAULT_CANONICALIZATION),
                                          source + ": canonicalization"),
        unsignable=unsignable(settings.get("unsignable", DEFER), source + ": unsignable"),
        queue_program=queue_program,
    )


def load_config(text, source):
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise ValidationError("%s: not JSON: %s" % (source, exc))
    return parse_config(settings, source)


def _header_block(message):
    """The header lines of a message (LF or CRLF), continuation lines joined to their field."""
    end = re.search(b"\r?\n\r?\n", message)
    block = message[:end.start()] if end else message
    fields = []
    for line in re.split(b"\r?\n", block):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        else:
            fields.append(line)
    return fields


_ADDR_SPEC_DOMAIN = re.compile(br"@([A-Za-z0-9.-]+)\s*>?\s*\Z")


def author_domain(message):
    """The domain of the message's single From address (RFC 5322 3.6.2), lower-case, or None.

    None when there is no From, several From fields or several addresses in it: RFC 6376 says
    nothing of which domain would then sign, and DMARC refuses such messages anyway.
    """
    values = [field.split(b":", 1)[1] for field in _header_block(message) if b":" in field
              and field.split(b":", 1)[0].strip().lower() == b"from"]
    if len(values) != 1:
        return None
    # Comments and display names may hold '@' and ','; an angle-bracketed address ends the field.
    value = re.sub(br"\([^()]*\)", b"", values[0]).strip()
    value = re.sub(br'"(?:[^"\\]|\\.)*"', b'""', value)
    if value.count(b"@") != 1:
        return None
    match = _ADDR_SPEC_DOMAIN.search(value)
    return match.group(1).decode("ascii").rstrip(".").lower() if match else None


def dkimpy_private_key(key, pem):
    """The private key as dkimpy's sign wants it: PKCS#1 PEM for RSA, the base64 seed for ed25519."""
    match = _PEM_BODY.search(pem)
    if match is None:
        raise UnsignableError("%s: not a PEM private key" % key.key_file)
    if key.algorithm == RSA:
        if match.group(1) != b"RSA PRIVATE KEY":
            raise UnsignableError("%s: a %s, not the PKCS#1 RSA PRIVATE KEY %s needs"
                                  % (key.key_file, match.group(1).decode("ascii").lower(), RSA))
        return pem
    try:
        der = base64.b64decode(match.group(2), validate=False)
    except (binascii.Error, ValueError):
        der = b""
    if match.group(1) != b"PRIVATE KEY" or len(der) != 48 or not der.startswith(_ED25519_PKCS8_PREFIX):
        raise UnsignableError("%s: not a PKCS#8 ed25519 private key" % key.key_file)
    return base64.b64encode(der[len(_ED25519_PKCS8_PREFIX):])


def sign(message, key, pem, header_names, canon, linesep=b"\n"):
    """The DKIM-Signature field (bytes ending in linesep) for message, signed with key's PEM.

    linesep is qmail's: messages in the queue end lines in LF, qmail-remote writes CRLF on the
    wire, and DKIM's canonical form is the same for both.
    """
    if not HAS_DKIMPY:
        raise UnsignableError("dkimpy (Debian python3-dkim) cannot be imported")
    header, body = canon.split("/")
    try:
        field = dkimpy.sign(
            message, key.selector.encode("ascii"), key.domain.encode("ascii"), dkimpy_private_key(key, pem),
            canonicalize=(header.encode("ascii"), body.encode("ascii")),
            signature_algorithm=key.algorithm.encode("ascii"),
            include_headers=[name.encode("ascii") for name in header_names], linesep=linesep)
    except dkimpy.DKIMException as exc:
        raise UnsignableError("%s selector %s: %s" % (key.domain, key.selector, exc))
    return field if field.endswith(linesep) else field + linesep


def signatures(message, config, read_key):
    """The DKIM-Signature fields to put in front of message, one per signing selector of its domain.

    [] when the From domain is not one of the signing domains (that mail is not ours to sign).
    read_key(path) returns the key file's bytes; any failure raises UnsignableError.
    """
    name = author_domain(message)
    keys = config.keys.get(name) if name else None
    if not keys:
        return []
    fields = []
    for key in keys:
        try:
            pem = read_key(key.key_file)
        except (OSError, ValueError) as exc:
            raise UnsignableError("%s: %s" % (key.key_file, getattr(exc, "strerror", None) or exc))
        fields.append(sign(message, key, pem, config.headers, config.canonicalization))
    return fields


def generate_private_key(key_algorithm, bits=DEFAULT_RSA_BITS):
    """A new private key as PEM bytes, in the format this file's readers take."""
    if key_algorithm == RSA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        key_format = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        key_format = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption())


def key_facts(pem):
    """(algorithm, bits or None, p= value) of a PEM private key; ValidationError when it is none of ours.

    p= is base64 DER SubjectPublicKeyInfo for RSA (RFC 6376 3.6.1) and the raw 32-byte public key
    for ed25519 (RFC 8463 4.2).
    """
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValidationError("not an unencrypted PEM private key: %s" % (str(exc).splitlines() or ["?"])[0])
    if isinstance(key, rsa.RSAPrivateKey):
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return RSA, key.key_size, base64.b64encode(public).decode("ascii")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return ED25519, None, base64.b64encode(public).decode("ascii")
    raise ValidationError("a %s key, neither RSA nor ed25519" % type(key).__name__)


def txt_value(key_algorithm, public_key):
    """The TXT record's text at SELECTOR._domainkey.DOMAIN."""
    return "v=DKIM1; k=%s; p=%s" % (KEY_TYPES[key_algorithm], public_key)


_USER = re.compile(r"\A[a-z_][a-z0-9_-]{0,31}\Z")


def problems(var):
    """Every reason to refuse the dkim role's variables, each naming the variable ([] = none).

    var.get(name, default) returns a play variable as the role sees it (the preflight's reader).
    """
    found = []

    collect(found, key_entries, var.get("dkim_domains", []), "dkim_domains")
    collect(found, unsignable, var.get("dkim_unsignable", DEFER), "dkim_unsignable")
    collect(found, headers, var.get("dkim_headers", list(DEFAULT_HEADERS)), "dkim_headers")
    collect(found, canonicalization, var.get("dkim_canonicalization", DEFAULT_CANONICALIZATION), "dkim_canonicalization")
    user = var.get("dkim_user", "qmaild")
    if not isinstance(user, str) or not _USER.match(user):
        found.append("dkim_user: %r is not a user name (lower-case letters, digits, '_' and '-'); give the "
                     "user the signer runs as, qmaild for qmail-smtpd" % (user,))
    for name in ("dkim_key_dir", "dkim_queue_program"):
        path = var.get(name, None)
        if path is not None and (not isinstance(path, str) or not path.startswith("/") or "\n" in path):
            found.append("%s: %r is not an absolute path" % (name, path))
    return found
