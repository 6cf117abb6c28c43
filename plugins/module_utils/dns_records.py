# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS records a mail domain publishes (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT), as data and
as master-file lines, and their comparison with what DNS answers, the way receivers read them.

A record is a dict: ``domain``, ``name`` (absolute, lower case, trailing dot), ``type`` (MX or
TXT), ``kind`` (mx, spf, dkim, dmarc, mta_sts, tls_rpt), ``ttl`` and ``value`` (for TXT the whole
text, before it is split into character-strings; for MX ``PREFERENCE HOST.``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import ipaddress
import re
import socket

from ansible_collections.mailops.qmail.plugins.module_utils import validate
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

try:
    import dns.exception
    import dns.rdatatype
    import dns.resolver
    HAS_DNSPYTHON = True
except ImportError:
    HAS_DNSPYTHON = False

DMARC_POLICIES = ("none", "quarantine", "reject")
ALIGNMENTS = ("r", "s")
SPF_ALL = ("-all", "~all")
MTA_STS_MODES = ("enforce", "testing", "none")
MIN_RSA_BITS = 2048
# RFC 7208 section 4.6.4: more than 10 terms that cost a DNS query make the record a permerror.
SPF_MAX_LOOKUPS = 10
SPF_LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")
MTA_STS_MAX_AGE = 31557600
MTA_STS_DEFAULT_MAX_AGE = 604800
# One character-string of a TXT record holds at most 255 octets (RFC 1035 section 3.3).
MAX_STRING = 255

_LABEL = re.compile(r"\A[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
# RFC 5322 dot-atom local part; ',' '!' ';' are left out: they separate DMARC URIs, size limits
# and tags, and a report address holding one would be cut in two by every receiver.
_LOCAL_PART = re.compile(r"\A[A-Za-z0-9#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9#$%&'*+/=?^_`{|}~-]+)*\Z")
_STS_ID = re.compile(r"\A[A-Za-z0-9]{1,32}\Z")
_BASE64 = re.compile(r"\A[A-Za-z0-9+/]+={0,2}\Z")
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.S)
_SPF_TERM = re.compile(r"\A([+?~-]?)([A-Za-z][A-Za-z0-9_.-]*)([:=/].*)?\Z")

# DER of the algorithm identifiers a DKIM key can have (RFC 6376 rsaEncryption, RFC 8463 Ed25519).
_OID_RSA = bytes.fromhex("2a864886f70d010101")
_OID_ED25519 = bytes.fromhex("2b6570")


def absolute(name):
    """A domain name as a master file and a comparison want it: lower case, trailing dot."""
    return name.rstrip(".").lower() + "."


def domain_name(value, field):
    """A mail domain: a host name of at least two labels, without a leading dot."""
    validate.hostname(value, field)
    if "." not in value.rstrip("."):
        raise ValidationError("%s: %r is a single label; a mail domain such as example.com is "
                              "accepted" % (field, value))
    return value.rstrip(".").lower()


def _label(value, field):
    if not isinstance(value, str) or not _LABEL.match(value):
        raise ValidationError("%s: %r is not one DNS label (letters, digits and '-', 1 to 63 "
                              "characters, no dot, not starting or ending with '-')" % (field, value))
    return value.lower()


def mailbox(value, field):
    """A report address, as user@example.com or mailto:user@example.com; returns the mailto: URI."""
    if not isinstance(value, str):
        raise ValidationError("%s: %r is not an address such as dmarc@example.com" % (field, value))
    address = value[7:] if value.lower().startswith("mailto:") else value
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.match(local):
        raise ValidationError("%s: %r is not an address such as dmarc@example.com (letters, digits "
                              "and !#$%%&'*+/=?^_`{|}~.- before the '@', no ',', '!' or ';')"
                              % (field, value))
    domain_name(domain, field)
    return "mailto:%s@%s" % (local, domain.rstrip(".").lower())


def _report_uri(value, field):
    """A TLS-RPT destination: a mailto: address or an https: URL (RFC 8460 section 3)."""
    if isinstance(value, str) and value.lower().startswith("https://"):
        host = value[8:].split("/", 1)[0]
        validate.hostname(host, field)
        if any(char in value for char in " ;,!\"\\") or not value.isascii():
            raise ValidationError("%s: %r contains a space, ';', ',', '!', a quote or a backslash; "
                                  "an https:// URL without them is accepted" % (field, value))
        return value
    return mailbox(value, field)


def _text(value, field):
    if not isinstance(value, str) or any(not " " <= char <= "~" for char in value):
        raise ValidationError("%s: %r must be printable ASCII text" % (field, value))
    return value


# ---- the records -----------------------------------------------------------------------------

def mx_records(domain, mx, ttl, field):
    seen = set()
    records = []
    for index, entry in enumerate(mx):
        where = "%s[%d]" % (field, index)
        host = absolute(validate.hostname(entry.get("host"), where + ".host"))
        preference = validate.integer(entry.get("preference", 10), where + ".preference", 0, 65535)
        if host in seen:
            raise ValidationError("%s.host: %r is listed twice; each mail host once is accepted"
                                  % (where, entry.get("host")))
        seen.add(host)
        records.append(_record(domain, absolute(domain), "MX", "mx", ttl, "%d %s" % (preference, host)))
    return records


def spf_value(spf, field):
    """The SPF text: extra mechanisms, the addresses, the includes, then -all or ~all."""
    terms = ["v=spf1"]
    for index, mechanism in enumerate(spf.get("mechanisms") or []):
        terms.append(_spf_mechanism(mechanism, "%s.mechanisms[%d]" % (field, index)))
    for index, address in enumerate(spf.get("addresses") or []):
        terms.append(_spf_address(address, "%s.addresses[%d]" % (field, index)))
    for index, include in enumerate(spf.get("include") or []):
        where = "%s.include[%d]" % (field, index)
        terms.append("include:%s" % domain_name(_text(include, where), where))
    qualifier = spf.get("all") or "-all"
    if qualifier not in SPF_ALL:
        raise ValidationError("%s.all: %r is not one of %s" % (field, qualifier, ", ".join(SPF_ALL)))
    terms.append(qualifier)
    value = " ".join(terms)
    lookups = spf_lookups(value)
    if lookups > SPF_MAX_LOOKUPS:
        raise ValidationError("%s: %d mechanisms that cost a DNS lookup (include, a, mx, ptr, exists, "
                              "redirect); receivers refuse an SPF record with more than %d "
                              "(RFC 7208 section 4.6.4)" % (field, lookups, SPF_MAX_LOOKUPS))
    return value


def _spf_address(value, field):
    try:
        network = ipaddress.ip_network(_text(value, field), strict=True)
    except ValueError as exc:
        raise ValidationError("%s: %r is not an IPv4 or IPv6 address or network such as 192.0.2.25, "
                              "2001:db8::25 or 192.0.2.0/24 (%s)" % (field, value, exc))
    host = network.prefixlen == network.max_prefixlen
    shown = str(network.network_address) if host else str(network)
    return "ip%d:%s" % (network.version, shown)


def _spf_mechanism(value, field):
    """An extra SPF mechanism (a, mx, exists, ptr, include, ip4, ip6, with arguments)."""
    match = _SPF_TERM.match(_text(value, field))
    name = match.group(2).lower() if match else ""
    if not match or name not in ("a", "mx", "exists", "ptr", "include", "ip4", "ip6") \
            or " " in value:
        raise ValidationError("%s: %r is not an SPF mechanism such as mx, a:relay.example.com, "
                              "mx/24 or include:_spf.provider.example" % (field, value))
    argument = match.group(3) or ""
    if name in ("ip4", "ip6"):
        if not argument.startswith(":"):
            raise ValidationError("%s: %r lacks the address after ':'" % (field, value))
        return match.group(1) + _spf_address(argument[1:], field)
    if argument.startswith("="):
        raise ValidationError("%s: %r is a modifier, not a mechanism" % (field, value))
    if argument.startswith(":"):
        target = argument[1:].split("/", 1)[0]
        if "%" not in target:
            validate.hostname(target, field)
    elif name in ("exists", "include"):
        raise ValidationError("%s: %r needs a domain after ':'" % (field, value))
    return value


def spf_terms(text):
    """The terms of an SPF record after v=spf1, as (qualifier, name, argument) in order."""
    terms = []
    for term in text.split()[1:]:
        match = _SPF_TERM.match(term)
        if match:
            terms.append((match.group(1) or "+", match.group(2).lower(), match.group(3) or ""))
        else:
            terms.append(("", term, ""))
    return terms


def spf_lookups(text):
    """How many terms of an SPF record make the receiver query DNS (nested includes not counted:
    they are the included domain's own, resolved only by a receiver)."""
    return sum(1 for term in spf_terms(text) if term[1] in SPF_LOOKUP_TERMS)


def dkim_value(public_key, field):
    """``v=DKIM1; k=rsa|ed25519; p=...`` from a public key in PEM, or base64 of its DER
    (SubjectPublicKeyInfo) or of the 32 raw octets of an Ed25519 key; an RSA key must have at
    least 2048 bits."""
    kind, data = public_key_data(public_key, field)
    return "v=DKIM1; k=%s; p=%s" % (kind, base64.b64encode(data).decode("ascii"))


def public_key_data(public_key, field):
    """(``rsa`` or ``ed25519``, the octets p= publishes): the SubjectPublicKeyInfo DER for RSA,
    the 32 raw octets for Ed25519 (RFC 8463 section 4.2)."""
    der = _der(public_key, field)
    if HAS_CRYPTOGRAPHY:
        return _key_with_cryptography(der, field)
    return _key_from_der(der, field)


def _der(public_key, field):
    if not isinstance(public_key, str) or not public_key.strip():
        raise ValidationError("%s: a public key in PEM (-----BEGIN PUBLIC KEY-----) or base64 DER "
                              "is required" % field)
    pem = _PEM.search(public_key)
    text = "".join((pem.group(1) if pem else public_key).split())
    if "PRIVATE KEY" in public_key:
        raise ValidationError("%s: this is a private key (shown: nothing of it); the public key "
                              "(openssl pkey -pubout) is accepted" % field)
    if not _BASE64.match(text) or len(text) % 4:
        # Not echoed: a key pasted into the wrong variable may be a private one.
        raise ValidationError("%s: a text of %d characters that is neither a PEM public key "
                              "(-----BEGIN PUBLIC KEY-----) nor base64 (A-Z a-z 0-9 + /, '=' padding)"
                              % (field, len(public_key)))
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValidationError("%s: the base64 does not decode (%s)" % (field, exc))


def _key_with_cryptography(der, field):
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        if len(der) == 32:
            return "ed25519", der
        raise ValidationError("%s: not a DER public key (%s); a PEM or base64 SubjectPublicKeyInfo "
                              "of an RSA or Ed25519 key is accepted" % (field, exc))
    if isinstance(key, rsa.RSAPublicKey):
        _check_rsa_bits(key.key_size, field)
        return "rsa", der
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raise ValidationError("%s: a %s key; DKIM takes RSA (k=rsa) or Ed25519 (k=ed25519)"
                          % (field, type(key).__name__))


def _check_rsa_bits(bits, field):
    if bits < MIN_RSA_BITS:
        raise ValidationError("%s: an RSA key of %d bits; at least %d bits are accepted (receivers "
                              "treat shorter DKIM keys as failing)" % (field, bits, MIN_RSA_BITS))


def _key_from_der(der, field):
    """The same as _key_with_cryptography, from the DER structure of SubjectPublicKeyInfo:
    SEQUENCE { SEQUENCE { OID, params }, BIT STRING { key } }."""
    if len(der) == 32:
        return "ed25519", der
    try:
        spki, rest = _der_item(der, 0x30)
        algorithm, bits = _der_item(spki, 0x30)
        oid = _der_item(algorithm, 0x06)[0]
        key, tail = _der_item(bits, 0x03)
        if rest or tail or not key or key[0] != 0:
            raise ValueError("trailing data")
        if oid == _OID_ED25519 and len(key) == 33:
            return "ed25519", key[1:]
        if oid == _OID_RSA:
            modulus = _der_item(_der_item(key[1:], 0x30)[0], 0x02)[0]
            _check_rsa_bits(int.from_bytes(modulus, "big").bit_length(), field)
            return "rsa", der
    except (ValueError, IndexError) as exc:
        raise ValidationError("%s: not a DER public key (%s); a PEM or base64 SubjectPublicKeyInfo "
                              "of an RSA or Ed25519 key is accepted" % (field, exc))
    raise ValidationError("%s: not an RSA or Ed25519 key; DKIM takes only those" % field)


def _der_item(data, tag):
    """(content, what follows) of the DER item at the start of data, which must have tag."""
    if len(data) < 2 or data[0] != tag:
        raise ValueError("expected DER tag 0x%02x" % tag)
    length, start = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or len(data) < 2 + count:
            raise ValueError("bad DER length")
        length, start = int.from_bytes(data[2:2 + count], "big"), 2 + count
    if len(data) < start + length:
        raise ValueError("truncated DER")
    return data[start:start + length], data[start + length:]


def dmarc_value(dmarc, field):
    policy = dmarc.get("policy")
    if policy not in DMARC_POLICIES:
        raise ValidationError("%s.policy: %r is not one of %s" % (field, policy, ", ".join(DMARC_POLICIES)))
    tags = [("v", "DMARC1"), ("p", policy)]
    subdomain = dmarc.get("subdomain_policy")
    if subdomain is not None:
        if subdomain not in DMARC_POLICIES:
            raise ValidationError("%s.subdomain_policy: %r is not one of %s"
                                  % (field, subdomain, ", ".join(DMARC_POLICIES)))
        tags.append(("sp", subdomain))
    if dmarc.get("pct") is not None:
        tags.append(("pct", str(validate.integer(dmarc["pct"], field + ".pct", 0, 100))))
    for key in ("adkim", "aspf"):
        if dmarc.get(key) is not None:
            if dmarc[key] not in ALIGNMENTS:
                raise ValidationError("%s.%s: %r is not r (relaxed) or s (strict)" % (field, key, dmarc[key]))
            tags.append((key, dmarc[key]))
    for key in ("rua", "ruf"):
        addresses = dmarc.get(key) or []
        if addresses:
            tags.append((key, ",".join(mailbox(address, "%s.%s[%d]" % (field, key, index))
                                       for index, address in enumerate(addresses))))
    return "; ".join("%s=%s" % tag for tag in tags)


def mta_sts_policy(mta_sts, mx_hosts, field):
    """The text of https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 section 3.2)."""
    mode = mta_sts.get("mode") or "enforce"
    if mode not in MTA_STS_MODES:
        raise ValidationError("%s.mode: %r is not one of %s" % (field, mode, ", ".join(MTA_STS_MODES)))
    max_age = mta_sts.get("max_age")
    max_age = MTA_STS_DEFAULT_MAX_AGE if max_age is None else \
        validate.integer(max_age, field + ".max_age", 0, MTA_STS_MAX_AGE)
    patterns = []
    for index, pattern in enumerate(mta_sts.get("mx") or mx_hosts):
        where = "%s.mx[%d]" % (field, index)
        name = pattern[2:] if isinstance(pattern, str) and pattern.startswith("*.") else pattern
        validate.hostname(name, where)
        patterns.append(pattern.rstrip(".").lower())
    if not patterns and mode != "none":
        raise ValidationError("%s.mx: no mail host to name; list the MX host patterns, or give the "
                              "domain's mx" % field)
    lines = ["version: STSv1", "mode: %s" % mode] + ["mx: %s" % p for p in patterns] + ["max_age: %d" % max_age]
    return "".join(line + "\r\n" for line in lines)


def mta_sts_value(mta_sts, policy, field):
    """``v=STSv1; id=...``: the id given, or one derived from the policy, so that it changes
    exactly when the policy does and senders fetch the new one."""
    sts_id = mta_sts.get("id")
    if sts_id is None:
        sts_id = hashlib.sha256(policy.encode("ascii")).hexdigest()[:20]
    elif not isinstance(sts_id, str) or not _STS_ID.match(sts_id):
        raise ValidationError("%s.id: %r is not 1 to 32 letters and digits" % (field, sts_id))
    return "v=STSv1; id=%s" % sts_id


def tls_rpt_value(tls_rpt, field):
    destinations = tls_rpt.get("rua") or []
    if not destinations:
        raise ValidationError("%s.rua: at least one mailto: address or https:// URL is required" % field)
    return "v=TLSRPTv1; rua=%s" % ",".join(
        _report_uri(uri, "%s.rua[%d]" % (field, index)) for index, uri in enumerate(destinations))


def _record(domain, name, rtype, kind, ttl, value):
    return dict(domain=domain, name=name, type=rtype, kind=kind, ttl=ttl, value=value)


def domain_records(spec, ttl, field):
    """(domain, records, MTA-STS policy text or None) of one entry of the module's ``domains``."""
    domain = domain_name(spec.get("name"), field + ".name")
    records = mx_records(domain, spec.get("mx") or [], ttl, field + ".mx")
    apex = absolute(domain)
    if spec.get("spf") is not None:
        records.append(_record(domain, apex, "TXT", "spf", ttl, spf_value(spec["spf"], field + ".spf")))
    selectors = set()
    for index, dkim in enumerate(spec.get("dkim") or []):
        where = "%s.dkim[%d]" % (field, index)
        selector = _label(dkim.get("selector"), where + ".selector")
        if selector in selectors:
            raise ValidationError("%s.selector: %r is listed twice" % (where, selector))
        selectors.add(selector)
        records.append(_record(domain, "%s._domainkey.%s" % (selector, apex), "TXT", "dkim", ttl,
                               dkim_value(dkim.get("public_key"), where + ".public_key")))
    if spec.get("dmarc") is not None:
        records.append(_record(domain, "_dmarc." + apex, "TXT", "dmarc", ttl,
                               dmarc_value(spec["dmarc"], field + ".dmarc")))
    policy = None
    if spec.get("mta_sts") is not None:
        hosts = [r["value"].split()[1] for r in records if r["kind"] == "mx"]
        policy = mta_sts_policy(spec["mta_sts"], hosts, field + ".mta_sts")
        records.append(_record(domain, "_mta-sts." + apex, "TXT", "mta_sts", ttl,
                               mta_sts_value(spec["mta_sts"], policy, field + ".mta_sts")))
    if spec.get("tls_rpt") is not None:
        records.append(_record(domain, "_smtp._tls." + apex, "TXT", "tls_rpt", ttl,
                               tls_rpt_value(spec["tls_rpt"], field + ".tls_rpt")))
    return domain, records, policy


def all_records(domains, ttl, field="domains"):
    """(records, {domain: MTA-STS policy}) for every domain; a domain listed twice is an error."""
    ttl = validate.integer(ttl, "ttl", 0, 2147483647)
    records, policies, seen = [], {}, set()
    for index, spec in enumerate(domains):
        where = "%s[%d]" % (field, index)
        if not isinstance(spec, dict):
            raise ValidationError("%s: %r is not a dict with name, mx, spf, dkim, ..." % (where, spec))
        domain, own, policy = domain_records(spec, ttl, where)
        if domain in seen:
            raise ValidationError("%s.name: %r is listed twice" % (where, spec.get("name")))
        seen.add(domain)
        records.extend(own)
        if policy is not None:
            policies[domain] = policy
    return records, policies


# ---- the master file -------------------------------------------------------------------------

def character_strings(value):
    """The TXT value as quoted character-strings of at most 255 octets each, escaped for a
    master file (RFC 1035 section 5.1): '"' and '\\' with a backslash, any octet outside
    printable ASCII as \\DDD."""
    data = value.encode("utf-8")
    chunks = [data[start:start + MAX_STRING] for start in range(0, len(data), MAX_STRING)] or [b""]
    return " ".join('"%s"' % "".join(_escape(octet) for octet in chunk) for chunk in chunks)


def _escape(octet):
    if octet in (0x22, 0x5C):
        return "\\" + chr(octet)
    if 0x20 <= octet < 0x7F:
        return chr(octet)
    return "\\%03d" % octet


def zone_line(record):
    rdata = character_strings(record["value"]) if record["type"] == "TXT" else record["value"]
    return "%s %d IN %s %s" % (record["name"], record["ttl"], record["type"], rdata)


def zone_text(records):
    return "".join(zone_line(record) + "\n" for record in records)


# ---- comparison with DNS ---------------------------------------------------------------------

def _tags(text):
    """A tag=value list (DKIM, DMARC, MTA-STS, TLS-RPT) as a dict: tag names lower case,
    whitespace around tags and values dropped; None when it is not such a list."""
    tags = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        name = name.strip().lower()
        if not equals or not name or name in tags:
            return None
        tags[name] = value.strip()
    return tags


def _normal_dkim(text):
    tags = _tags(text)
    if tags is None:
        return None
    # FWS may fold base64 anywhere (RFC 6376 section 3.2); k defaults to rsa.
    tags = dict((name, "".join(value.split())) for name, value in tags.items())
    tags.setdefault("k", "rsa")
    tags["k"] = tags["k"].lower()
    tags.setdefault("v", "DKIM1")
    return tags


def _normal_dmarc(text):
    tags = _tags(text)
    if tags is None:
        return None
    for name in ("p", "sp", "adkim", "aspf"):
        if name in tags:
            tags[name] = tags[name].lower()
    # The defaults of RFC 7489 section 6.3: a tag left out means these.
    defaults = dict(pct="100", adkim="r", aspf="r", sp=tags.get("p"))
    for name, value in defaults.items():
        tags.setdefault(name, value)
    for name in ("rua", "ruf"):
        if name in tags:
            tags[name] = ",".join(uri.strip().lower() for uri in tags[name].split(","))
    return tags


def _normal_tags_with_uris(text):
    tags = _tags(text)
    if tags is not None and "rua" in tags:
        tags["rua"] = ",".join(uri.strip() for uri in tags["rua"].split(","))
    return tags


def _normal_spf(text):
    return [(qualifier, name, argument.lower()) for qualifier, name, argument in spf_terms(text)]


# Per TXT kind: the version tag that picks its records among the TXT records of the name (None:
# every TXT record there), and the form in which two texts are compared.
_TXT_KINDS = dict(
    spf=(re.compile(r"\Av=spf1( |\Z)", re.I), _normal_spf),
    dkim=(None, _normal_dkim),
    dmarc=(re.compile(r"\Av=DMARC1\s*(;|\Z)"), _normal_dmarc),
    mta_sts=(re.compile(r"\Av=STSv1\s*(;|\Z)"), _normal_tags_with_uris),
    tls_rpt=(re.compile(r"\Av=TLSRPTv1\s*(;|\Z)"), _normal_tags_with_uris),
)


def _mx_pair(text):
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return (None, text)
    return (int(parts[0]), absolute(parts[1]))


def compare(records, answers):
    """Each record with ``status`` (present, missing, different, or ``error: ...``) and ``found``.

    answers maps (absolute name, type) to what DNS answered: a list of strings (MX as
    ``PREFERENCE HOST``, TXT as the concatenated character-strings of one record), or an error
    text. The MX records of a name compare as one set of (preference, host): receivers pick among
    all of them, so one extra or missing host makes every one of them ``different``.
    """
    result = []
    for record in records:
        key = (absolute(record["name"]), record["type"])
        found = answers.get(key, [])
        checked = dict(record)
        if isinstance(found, str):
            checked.update(status="error: %s" % found, found=[])
        elif record["type"] == "MX":
            expected = set(_mx_pair(r["value"]) for r in records
                           if (absolute(r["name"]), r["type"]) == key)
            checked.update(found=list(found), status=_status(
                bool(found), set(_mx_pair(text) for text in found) == expected))
        else:
            selector, normal = _TXT_KINDS[record["kind"]]
            relevant = [text for text in found if selector is None or selector.match(text)]
            # Two SPF or DMARC records are a permerror at receivers, so never "present".
            same = len(relevant) == 1 and normal(relevant[0]) == normal(record["value"])
            checked.update(found=relevant, status=_status(bool(relevant), same))
        result.append(checked)
    return result


def _status(exists, same):
    if same:
        return "present"
    return "different" if exists else "missing"


def queries(records):
    """The (name, type) pairs to ask DNS, each once, in the records' order."""
    pairs = []
    for record in records:
        pair = (absolute(record["name"]), record["type"])
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def nameserver_address(value, field="nameserver"):
    """The IP address of the DNS server to ask: an address as it is, a host name resolved."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        validate.hostname(value, field)
    try:
        return socket.getaddrinfo(value, 53, 0, socket.SOCK_DGRAM)[0][4][0]
    except (OSError, UnicodeError) as exc:
        raise ValidationError("%s: %r is not an IP address and does not resolve (%s); the address "
                              "or resolvable name of a DNS server is accepted" % (field, value, exc))


def ask_dns(pairs, nameserver=None, port=53, timeout=5.0):
    """What DNS answers for each (name, type), in the form compare() takes; needs dnspython.

    With nameserver (see nameserver_address()) only that server is asked, else the system's resolvers. A
    name that does not exist or has no records of the type is an empty list; a timeout or a
    server failure is the error's text, so one unreachable name never hides the others.
    """
    resolver = dns.resolver.Resolver(configure=nameserver is None)
    if nameserver is not None:
        resolver.nameservers = [nameserver]
        resolver.port = port
    resolver.lifetime = timeout
    resolver.timeout = timeout
    answers = {}
    for name, rtype in pairs:
        try:
            answer = resolver.resolve(name, rtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            answers[(name, rtype)] = []
        except (dns.exception.DNSException, OSError) as exc:
            answers[(name, rtype)] = "%s: %s" % (type(exc).__name__, exc)
        else:
            answers[(name, rtype)] = [_rdata_text(rdata) for rdata in answer.rrset or []]
    return answers


def _rdata_text(rdata):
    if rdata.rdtype == dns.rdatatype.TXT:
        # Receivers join a TXT record's character-strings without a separator (RFC 7208 3.3).
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return "%d %s" % (rdata.preference, rdata.exchange.to_text())


# The argument spec of a `domains` item, shared by mailops.qmail.dns_records and mailops.qmail.health;
# tests/unit compares it with dns_records' documentation.
DOMAIN_OPTIONS = dict(
    name=dict(type="str", required=True),
    mx=dict(type="list", elements="dict", default=[], options=dict(
        host=dict(type="str", required=True),
        preference=dict(type="int", default=10),
    )),
    spf=dict(type="dict", options=dict(
        addresses=dict(type="list", elements="str", default=[]),
        include=dict(type="list", elements="str", default=[]),
        mechanisms=dict(type="list", elements="str", default=[]),
        all=dict(type="str", choices=list(SPF_ALL), default="-all"),
    )),
    dkim=dict(type="list", elements="dict", default=[], options=dict(
        selector=dict(type="str", required=True),
        public_key=dict(type="str", required=True),
    )),
    dmarc=dict(type="dict", options=dict(
        policy=dict(type="str", choices=list(DMARC_POLICIES), required=True),
        subdomain_policy=dict(type="str", choices=list(DMARC_POLICIES)),
        rua=dict(type="list", elements="str", default=[]),
        ruf=dict(type="list", elements="str", default=[]),
        pct=dict(type="int"),
        adkim=dict(type="str", choices=list(ALIGNMENTS)),
        aspf=dict(type="str", choices=list(ALIGNMENTS)),
    )),
    mta_sts=dict(type="dict", options=dict(
        mode=dict(type="str", choices=list(MTA_STS_MODES), default="enforce"),
        mx=dict(type="list", elements="str", default=[]),
        max_age=dict(type="int", default=MTA_STS_DEFAULT_MAX_AGE),
        id=dict(type="str"),
    )),
    tls_rpt=dict(type="dict", options=dict(
        rua=dict(type="list", elements="str", required=True),
    )),
)
