# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health report of a 2026 mail domain: listening services, the certificate's issuer and days
left, DKIM keys and whether DNS publishes them, and each DNS record's status."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import os
import shutil
import struct
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.mailops.qmail.plugins.module_utils import dkim, dns_records, health
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError
from ansible_collections.mailops.qmail.plugins.modules import dns_records as dns_records_module
from ansible_collections.mailops.qmail.plugins.modules import health as health_module
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module

# ---- listening services ------------------------------------------------------------------------

# Read from the build host's /proc/net/tcp and tcp6 (x86_64) with sockets listening on 127.0.0.1:2525,
# [::1]:5870 and [::]:4650 besides the host's own 0.0.0.0:2024, and one connection in TIME_WAIT.
REAL_TCP = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1600 1"
    " 00000000da7e2e5d 100 0 0 10 0\n"
    "   1: 0100007F:09DD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12074316 1"
    " 0000000090f8cb91 100 0 0 10 0\n"
    "   2: 020200C0:A0D8 507100CB:0050 06 00000000:00000000 03:000012CA 00000000     0        0 0 3"
    " 00000000fcf9ff27\n")
REAL_TCP6 = (
    "  sl  local_address                         remote_address                        st tx_queue rx_queue"
    " tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:122A 00000000000000000000000000000000:0000 0A 00000000:00000000"
    " 00:00000000 00000000     0        0 12074318 1 0000000001909ced 100 0 0 10 0\n"
    "   1: 00000000000000000000000001000000:16EE 00000000000000000000000000000000:0000 0A 00000000:00000000"
    " 00:00000000 00000000     0        0 12074317 1 00000000a471e155 100 0 0 10 0\n")

little_endian_only = pytest.mark.skipif(sys.byteorder != "little", reason="fixtures read on a little-endian host")


@little_endian_only
def test_real_proc_lines_give_each_listening_socket_with_its_address():
    assert health.listeners([REAL_TCP, REAL_TCP6]) == [
        {"port": 2024, "address": "0.0.0.0", "service": None},
        {"port": 2525, "address": "127.0.0.1", "service": None},
        {"port": 4650, "address": "::", "service": None},
        {"port": 5870, "address": "::1", "service": None},
    ]
    assert health.listening_tcp_ports([REAL_TCP, REAL_TCP6]) == [2024, 2525, 4650, 5870]


@little_endian_only
@pytest.mark.parametrize("port, service", sorted(health.SERVICE_PORTS.items()) + [(2525, None)])
def test_a_known_port_is_named_by_its_service(port, service):
    line = REAL_TCP.splitlines()[1].replace(":07E8 ", ":%04X " % port)
    assert health.listeners([REAL_TCP.splitlines()[0] + "\n" + line]) == [
        {"port": port, "address": "0.0.0.0", "service": service}]


def test_the_mail_ports_of_rfc_8314_and_qmail_are_named():
    assert [health.SERVICE_PORTS.get(p) for p in (25, 587, 465, 110, 995, 143, 993, 209, 628, 783)] == [
        "smtpd", "submission", "smtps", "pop3", "pop3s", "imap", "imaps", "qmtp", "qmqp", "spamd"]


def kernel_line(address, port, state="0A"):
    """A /proc/net/tcp(6) line as the kernel writes it: each 32-bit word of the address printed
    with %08X in the host's byte order."""
    octets = address.packed
    words = "".join("%08X" % struct.unpack("=I", octets[i:i + 4])[0] for i in range(0, len(octets), 4))
    return "   0: %s:%04X %s:0000 %s 00000000:00000000 00:00000000 00000000     0        0 1 1" % (
        words, port, "0" * len(words), state)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.integers(1, 65535),
       st.sampled_from(["0A", "01", "06"]))
def test_any_socket_the_kernel_prints_reads_back_as_itself(address, port, state):
    found = health.listeners(["header\n" + kernel_line(address, port, state)])
    assert found == ([{"port": port, "address": str(address), "service": health.SERVICE_PORTS.get(port)}]
                     if state == "0A" else [])


@pytest.mark.parametrize("line", [
    "   0: 0000000:0019 00000000:0000 0A",            # seven hex digits
    "   0: 0000000000000000:0019 00000000:0000 0A",   # neither IPv4 nor IPv6
    "   0: 0000000G:0019 00000000:0000 0A",
    "   0: 00000000:00190 00000000:0000 0A",
    "   0: 00000000:0019",
])
def test_lines_that_are_not_the_kernel_s_are_skipped(line):
    assert health.listeners(["header\n" + line]) == []


# ---- the certificate -----------------------------------------------------------------------------

NOW = datetime.datetime(2026, 12, 2, 10, 0, 0, tzinfo=datetime.timezone.utc)


def openssl(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def make_servercert(path, subject_cn, issuer_cn, not_after, issuer_org=None):
    """A key and a certificate in one file, as the tls role writes control/servercert.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = [x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]
    if issuer_org:
        issuer.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer_org))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
            .issuer_name(x509.Name(issuer)).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_after - datetime.timedelta(days=90)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
                     + cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


@needs_openssl
@pytest.mark.parametrize("left, hours, days", [(40, 1, 40), (40, -1, 39), (0, 1, 0), (0, -1, -1), (-3, 0, -3)])
def test_days_left_are_whole_days_until_not_after_and_negative_once_expired(tmp_path, left, hours, days):
    not_after = NOW + datetime.timedelta(days=left, hours=hours)
    path = make_servercert(tmp_path / "servercert.pem", "mail.example.org", "R11", not_after, "Let's Encrypt")
    report = health.certificate_report(path, openssl, NOW)
    assert report["days_left"] == days
    assert report["subject"] == "CN = mail.example.org" and report["subject_cn"] == "mail.example.org"
    assert report["issuer"] == "O = Let's Encrypt, CN = R11" and report["issuer_cn"] == "R11"


@needs_openssl
def test_the_issuer_s_name_is_unescaped_as_openssl_escapes_it(tmp_path):
    issuer = u'T\u00ebst "CA", Inc + 1'
    path = make_servercert(tmp_path / "servercert.pem", "mail.example.org", issuer, NOW + datetime.timedelta(days=9),
                           u"Caf\u00e9, Ltd")
    report = health.certificate_report(path, openssl, NOW)
    assert report["issuer_cn"] == issuer and report["subject_cn"] == "mail.example.org"
    assert "\\C3\\AB" in report["issuer"]
    assert "PRIVATE" not in json.dumps(report)


@pytest.mark.parametrize("name, cn", [
    ("CN = mail.example.org", "mail.example.org"),
    ('C = US, O = "Example, Inc", CN = R11', "R11"),
    ("OU = x + CN = y", "y"),
    ("CN = a, CN = b", "b"),
    ('O = "x, CN = evil"', None),
    ("O = Example", None),
    ("/CN=old-style", None),
    ("", None),
])
def test_common_name_reads_openssl_oneline_names(name, cn):
    assert health.common_name(name) == cn


@pytest.mark.parametrize("text, expected", [
    ("Nov 25 08:00:00 2027 GMT", datetime.datetime(2027, 11, 25, 8, 0, tzinfo=datetime.timezone.utc)),
    ("Jan  5 23:59:59 2027 GMT", datetime.datetime(2027, 1, 5, 23, 59, 59, tzinfo=datetime.timezone.utc)),
    ("Feb 30 00:00:00 2027 GMT", None),
    ("Foo 25 08:00:00 2027 GMT", None),
    ("2027-11-25 08:00:00Z", None),
])
def test_not_after_is_read_in_openssl_s_english_form_only(text, expected):
    assert health.not_after_time(text) == expected


def test_a_certificate_openssl_cannot_read_is_an_error_not_days(tmp_path):
    path = tmp_path / "servercert.pem"
    path.write_text("not a certificate")
    report = health.certificate_report(str(path), lambda argv: (1, "", "unable to load certificate\n"), NOW)
    assert report == {"path": str(path), "error": "unable to load certificate"}
    assert "unreadable: unable to load certificate" in health.render(
        health.collect(str(tmp_path), str(tmp_path), str(path), lambda argv: (1, "", "unable to load certificate"),
                       proc_net=()))


# ---- DKIM keys -----------------------------------------------------------------------------------

KEYS = {}


def key_pem(name, algorithm):
    """One key per name for the whole module: RSA generation is slow."""
    if name not in KEYS:
        KEYS[name] = dkim.generate_private_key(algorithm)
    return KEYS[name]


def txt_of(pem):
    algorithm, dummy, public = dkim.key_facts(pem)
    return dkim.txt_value(algorithm, public)


@pytest.fixture
def key_dir(tmp_path):
    """The dkim role's layout, with keys made by its own code, and some things that are not keys."""
    root = tmp_path / "dkim"
    for domain, selector, algorithm, mode in (("example.org", "s2026", dkim.RSA, 0o600),
                                              ("example.org", "old", dkim.RSA, 0o640),
                                              ("example.net", "ed", dkim.ED25519, 0o600)):
        (root / domain).mkdir(parents=True, exist_ok=True)
        path = root / domain / ("%s.private" % selector)
        path.write_bytes(key_pem(selector, algorithm))
        path.chmod(mode)
    (root / "example.org" / "README").write_text("not a key")
    (root / "stray.private").write_text("a file at the top is no domain")
    (root / "not_a_domain").mkdir()
    (root / "not_a_domain" / "s1.private").write_bytes(key_pem("s2026", dkim.RSA))
    (root / "example.com").mkdir()
    (root / "example.com" / "sel.with.dots.private").write_bytes(key_pem("s2026", dkim.RSA))
    (root / "example.com" / "broken.private").write_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n")
    return root


def by_name(report):
    return dict(("%s/%s" % (k["domain"], k["selector"]), k) for k in report["keys"])


def test_each_key_is_found_with_its_algorithm_mode_and_record(key_dir):
    report = health.dkim_report(str(key_dir))
    keys = by_name(report)
    assert sorted(keys) == ["example.com/broken", "example.com/sel.with.dots", "example.net/ed",
                            "example.org/old", "example.org/s2026", "not_a_domain/s1"]
    s2026, old, ed = keys["example.org/s2026"], keys["example.org/old"], keys["example.net/ed"]
    assert (s2026["algorithm"], s2026["bits"], s2026["mode"], s2026["owner_only"]) == (dkim.RSA, 2048, "0600", True)
    assert (old["mode"], old["owner_only"]) == ("0640", False)
    assert (ed["algorithm"], ed["bits"], ed["owner_only"]) == (dkim.ED25519, None, True)
    assert s2026["txt"] == txt_of(key_pem("s2026", dkim.RSA)) and ed["txt"] == txt_of(key_pem("ed", dkim.ED25519))
    assert s2026["path"] == str(key_dir / "example.org" / "s2026.private")
    assert all(k["error"] is None and k["published"] is None for k in (s2026, old, ed))


def test_what_is_not_a_key_of_the_role_s_layout_is_an_error_per_file(key_dir):
    keys = by_name(health.dkim_report(str(key_dir)))
    assert "not_a_domain" in keys["not_a_domain/s1"]["error"] and keys["not_a_domain/s1"]["txt"] is None
    assert "'sel.with.dots' is not a selector" in keys["example.com/sel.with.dots"]["error"]
    broken = keys["example.com/broken"]
    assert broken["error"].startswith("not an unencrypted PEM private key") and broken["algorithm"] is None
    assert broken["mode"] is not None


def test_no_private_key_is_ever_in_the_report_or_its_text(key_dir):
    report = health.collect(str(key_dir / "no-scan"), str(key_dir), str(key_dir / "none.pem"), None, proc_net=(),
                            dkim_key_dir=str(key_dir), ask=lambda pairs: {})
    shown = json.dumps(report) + health.render(report)
    assert "PRIVATE KEY" not in shown
    for pem in KEYS.values():
        body = b"".join(pem.splitlines()[1:-1]).decode("ascii")
        assert body[:40] not in shown and body[-40:] not in shown


def test_an_unreadable_key_dir_or_key_is_a_field_with_the_reason(key_dir, monkeypatch):
    assert health.dkim_report(str(key_dir / "absent"))["error"].startswith("cannot list: ")
    real_open = open

    def refusing_open(path, *args, **kwargs):
        if str(path).endswith("s2026.private"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    keys = by_name(health.dkim_report(str(key_dir)))
    assert keys["example.org/s2026"]["error"] == "cannot read: Permission denied"
    assert keys["example.org/s2026"]["mode"] == "0600" and keys["example.org/old"]["error"] is None


def test_without_cryptography_the_mode_is_still_reported(key_dir, monkeypatch):
    monkeypatch.setattr(dkim, "HAS_CRYPTOGRAPHY", False)
    s2026 = by_name(health.dkim_report(str(key_dir)))["example.org/s2026"]
    assert s2026["mode"] == "0600" and s2026["algorithm"] is None and "python3-cryptography" in s2026["error"]


def test_dns_says_per_key_whether_its_record_is_published(key_dir):
    asked = []
    answers = {
        ("s2026._domainkey.example.org.", "TXT"): [txt_of(key_pem("s2026", dkim.RSA)).replace("; ", ";")],
        ("old._domainkey.example.org.", "TXT"): [txt_of(key_pem("ed", dkim.ED25519))],
        ("ed._domainkey.example.net.", "TXT"): "Timeout: The DNS operation timed out.",
    }

    def ask(pairs):
        asked.extend(pairs)
        return dict((pair, answers.get(pair, [])) for pair in pairs)

    keys = by_name(health.dkim_report(str(key_dir), ask))
    assert sorted(asked) == [("ed._domainkey.example.net.", "TXT"), ("old._domainkey.example.org.", "TXT"),
                             ("s2026._domainkey.example.org.", "TXT")]
    assert keys["example.org/s2026"]["published"] == "present"
    assert keys["example.org/old"]["published"] == "different"
    assert keys["example.org/old"]["found"] == [txt_of(key_pem("ed", dkim.ED25519))]
    assert keys["example.net/ed"]["published"] == "error: Timeout: The DNS operation timed out."
    assert keys["example.com/broken"]["published"] is None


# ---- DNS records ---------------------------------------------------------------------------------

def public_pem(name, algorithm):
    return serialization.load_pem_private_key(key_pem(name, algorithm), None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def domains():
    return [dict(name="example.org", mx=[dict(host="mx1.example.org")],
                 spf=dict(addresses=["192.0.2.25"]),
                 dkim=[dict(selector="s2026", public_key=public_pem("s2026", dkim.RSA))],
                 dmarc=dict(policy="quarantine"))]


def test_records_are_those_dns_records_computes_with_defaults_filled_in():
    records = health.domain_records(domains())
    expected = dns_records.all_records([dict(domains()[0], mx=[dict(host="mx1.example.org", preference=10)],
                                             spf=dict(addresses=["192.0.2.25"], all="-all"))], 3600)[0]
    assert records == expected


def test_each_record_has_its_status_from_the_answers():
    records = health.domain_records(domains())
    values = dict((r["kind"], r["value"]) for r in records)
    answers = {
        ("example.org.", "MX"): ["10 MX1.example.org."],
        ("example.org.", "TXT"): ["v=spf1 ip4:192.0.2.26 -all", "google-site-verification=x"],
        ("s2026._domainkey.example.org.", "TXT"): [values["dkim"]],
        ("_dmarc.example.org.", "TXT"): "NoNameservers: All nameservers failed to answer the query.",
    }
    checked = dict((r["kind"], r) for r in health.dns_report(records, lambda pairs: dict(
        (pair, answers.get(pair, [])) for pair in pairs)))
    assert dict((kind, r["status"]) for kind, r in checked.items()) == {
        "mx": "present", "spf": "different", "dkim": "present",
        "dmarc": "error: NoNameservers: All nameservers failed to answer the query."}
    assert checked["spf"]["found"] == ["v=spf1 ip4:192.0.2.26 -all"]
    assert all("ttl" not in r for r in checked.values())
    assert health.dns_report(records, lambda pairs: {})[0]["status"] == "missing"


def test_without_dns_check_the_records_are_listed_unchecked():
    report = health.dns_report(health.domain_records(domains()), None)
    assert [r["kind"] for r in report] == ["mx", "spf", "dkim", "dmarc"]
    assert all(r["status"] is None and r["found"] is None for r in report)
    assert "not checked (dns_check is false)" in health.render(dict(
        health.collect("/nonexistent", "/nonexistent", "/nonexistent.pem", None, proc_net=()), dns=report))


@pytest.mark.parametrize("change, words", [
    (dict(dmark=dict(policy="none")), "domains.dmark"),
    (dict(mx="mx1.example.org"), "mx"),
    (dict(spf="v=spf1 -all"), "spf"),
    (dict(dmarc=dict(policy="block")), "policy"),
    (dict(name="localhost"), "domains[0].name: 'localhost' is a single label"),
    (dict(dkim=[dict(selector="a.b", public_key=public_pem("s2026", dkim.RSA))]), "domains[0].dkim[0].selector"),
])
def test_bad_domains_are_refused_naming_the_field(change, words):
    with pytest.raises(ValidationError, match=r"\A(domains: )?") as caught:
        health.domain_records([dict(domains()[0], **change)])
    assert words in str(caught.value)


def test_the_domains_structure_is_the_one_dns_records_documents():
    """dns_records.DOMAIN_OPTIONS serves both modules; dns_records' documentation is its readable
    form, so the two are compared through it."""
    def spec_of(options):
        return dict((name, dict((key, value) for key, value in (
            ("type", option.get("type", "str")), ("elements", option.get("elements")),
            ("required", option.get("required", False)), ("default", option.get("default")),
            ("choices", option.get("choices")),
            ("options", spec_of(option["options"]) if "options" in option else None)) if value not in (None, False)))
            for name, option in options.items())

    documented = yaml.safe_load(dns_records_module.DOCUMENTATION)["options"]["domains"]["suboptions"]
    renamed = dict((name, dict(option, options=option.get("suboptions")) if "suboptions" in option else option)
                   for name, option in documented.items())
    for option in renamed.values():
        for sub in (option.get("options") or {}).values():
            sub.pop("description", None)
    assert spec_of(dns_records.DOMAIN_OPTIONS) == spec_of(renamed)


def test_dns_asker_without_dnspython_answers_an_error_per_name(monkeypatch):
    monkeypatch.setattr(health, "HAS_DNSPYTHON", False)
    answers = health.dns_asker()([("example.org.", "MX")])
    assert answers == {("example.org.", "MX"): "dnspython (Debian python3-dnspython) is not installed"}


def test_dns_asker_turns_a_resolver_that_cannot_start_into_errors(monkeypatch):
    dns_exception = pytest.importorskip("dns.exception")

    def no_resolv_conf(*args):
        raise dns_exception.DNSException("no nameservers in /etc/resolv.conf")

    monkeypatch.setattr(dns_records, "ask_dns", no_resolv_conf)
    answers = health.dns_asker()([("example.org.", "MX"), ("example.org.", "TXT")])
    assert set(answers.values()) == {"DNSException: no nameservers in /etc/resolv.conf"}


def test_dns_asker_asks_the_given_server_and_reports_its_silence():
    pytest.importorskip("dns.resolver")
    records = health.domain_records(domains())
    report = health.dns_report(records, health.dns_asker("127.0.0.1", 9, 0.3))
    assert [r["status"].split(":")[0] for r in report] == ["error"] * len(records)


# ---- the module ----------------------------------------------------------------------------------

def run(capsys, monkeypatch, answers=None, **args):
    if answers is not None:
        monkeypatch.setattr(health, "dns_asker", lambda *a: lambda pairs: dict(
            (pair, answers.get(pair, [])) for pair in pairs))
    return run_module(health_module.main, capsys, owner=None, group=None, raw=True, **args)


def test_the_module_reports_keys_and_records_checked_in_dns(capsys, monkeypatch, tmp_path, key_dir):
    records = health.domain_records(domains())
    answers = dict(((dns_records.absolute(r["name"]), r["type"]), [r["value"].rstrip(".")]) for r in records)
    result, out = run(capsys, monkeypatch, answers, scan_dir=str(tmp_path), qmail_home=str(tmp_path),
                      dkim_key_dir=str(key_dir), domains=domains(), dns_check=True, nameserver="127.0.0.1")
    assert result["changed"] is False, result
    assert [r["status"] for r in result["report"]["dns"]] == ["present"] * 4
    keys = by_name(result["report"]["dkim"])
    assert keys["example.org/s2026"]["published"] == "present" and keys["example.org/old"]["published"] == "missing"
    assert "s2026._domainkey.example.org: rsa-sha256, mode 0600" in result["text"]
    assert "PRIVATE KEY" not in out


def test_without_the_new_options_the_report_has_no_dkim_or_dns_part(capsys, monkeypatch, tmp_path):
    result, dummy = run(capsys, monkeypatch, scan_dir=str(tmp_path), qmail_home=str(tmp_path))
    assert set(result["report"]) == {"qmail", "recipients", "services", "listening_ports", "listeners",
                                     "certificate"}
    assert "DKIM" not in result["text"] and "DNS records" not in result["text"]


def test_a_key_file_name_that_is_not_utf8_is_reported_not_a_crash(capsys, monkeypatch, tmp_path, key_dir):
    os.mkdir(os.path.join(os.fsencode(str(key_dir)), b"caf\xe9.example"))
    with open(os.path.join(os.fsencode(str(key_dir)), b"caf\xe9.example", b"s\xff.private"), "wb") as handle:
        handle.write(key_pem("s2026", dkim.RSA))
    result, dummy = run(capsys, monkeypatch, scan_dir=str(tmp_path), dkim_key_dir=str(key_dir))
    assert "failed" not in result, result
    odd = [k for k in result["report"]["dkim"]["keys"] if k["domain"] == u"caf\ufffd.example"]
    assert len(odd) == 1 and odd[0]["selector"] == u"s\ufffd" and odd[0]["txt"] is None
    assert odd[0]["error"].startswith(u"directory name: 'caf\ufffd.example' is not a host name")


@pytest.mark.parametrize("args, words", [
    (dict(dns_check=True), "dns_check is True but any of the following are missing: domains, dkim_key_dir"),
    (dict(dkim_key_dir="/srv/dkim", nameserver="127.0.0.1"), "nameserver: '127.0.0.1' is asked only with dns_check"),
    (dict(dkim_key_dir="relative"), "dkim_key_dir: "),
    (dict(dkim_key_dir="/srv/dkim", dns_check=True, port=0), "port: 0"),
    (dict(dkim_key_dir="/srv/dkim", dns_check=True, timeout=0.0), "timeout: 0.0"),
    (dict(dkim_key_dir="/srv/dkim", dns_check=True, nameserver="no such name"), "nameserver: 'no such name'"),
    (dict(domains=[dict(name="example.org", dmarc=dict(policy="block"))]), "domains: "),
    (dict(domains=[dict(name="example.org", mx="mx1")]), "domains: "),
])
def test_bad_options_fail_naming_the_option_without_a_traceback(capsys, monkeypatch, tmp_path, args, words):
    result, dummy = run(capsys, monkeypatch, scan_dir=str(tmp_path), **args)
    assert result["failed"] is True and "exception" not in result, result
    assert words in result["msg"]


def test_addresses_in_the_kernel_s_form_are_what_ipaddress_reads():
    assert kernel_line(ipaddress.ip_address("127.0.0.1"), 25).split()[1] == (
        "0100007F:0019" if sys.byteorder == "little" else "7F000001:0019")
