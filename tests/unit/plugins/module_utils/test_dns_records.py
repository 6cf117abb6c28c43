# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records a mail domain publishes: what they say, what is refused, how they are written into
a zone file (read back by dnspython's own master-file parser) and how DNS answers compare."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.mailops.qmail.plugins.module_utils import dns_records as d
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

dns_zone = pytest.importorskip("dns.zone")


def pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


RSA_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
ED25519 = ed25519.Ed25519PrivateKey.generate()
EC_P256 = ec.generate_private_key(ec.SECP256R1())


def der_b64(key):
    return base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode("ascii")


def domain(**extra):
    spec = dict(name="example.com", mx=[dict(host="mx1.example.com", preference=10),
                                        dict(host="mx2.example.com", preference=20)],
                spf=dict(addresses=["192.0.2.25", "2001:db8::25"], include=["_spf.provider.example"], all="~all"),
                dkim=[dict(selector="s2026", public_key=pem(RSA_2048)), dict(selector="ed", public_key=pem(ED25519))],
                dmarc=dict(policy="quarantine", rua=["dmarc@example.com"]),
                mta_sts=dict(mode="testing"), tls_rpt=dict(rua=["tlsrpt@example.com"]))
    spec.update(extra)
    return spec


def records_of(**extra):
    return d.all_records([domain(**extra)], 3600)[0]


def by_kind(records, kind):
    return [r for r in records if r["kind"] == kind]


# ---- what the records say ----------------------------------------------------------------------

def test_a_full_domain_gives_every_record_under_its_absolute_name():
    records = records_of(name="Example.COM.")
    assert [(r["name"], r["type"]) for r in records] == [
        ("example.com.", "MX"), ("example.com.", "MX"), ("example.com.", "TXT"),
        ("s2026._domainkey.example.com.", "TXT"), ("ed._domainkey.example.com.", "TXT"),
        ("_dmarc.example.com.", "TXT"), ("_mta-sts.example.com.", "TXT"), ("_smtp._tls.example.com.", "TXT")]
    assert [r["value"] for r in by_kind(records, "mx")] == ["10 mx1.example.com.", "20 mx2.example.com."]
    assert by_kind(records, "spf")[0]["value"] == \
        "v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 include:_spf.provider.example ~all"
    assert by_kind(records, "dmarc")[0]["value"] == "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
    assert by_kind(records, "tls_rpt")[0]["value"] == "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
    assert {r["ttl"] for r in records} == {3600}


def test_dkim_publishes_the_rsa_key_info_and_the_raw_ed25519_key():
    rsa_value, ed_value = [r["value"] for r in by_kind(records_of(), "dkim")]
    assert rsa_value == "v=DKIM1; k=rsa; p=" + der_b64(RSA_2048)
    raw = ED25519.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert ed_value == "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode("ascii")


@pytest.mark.parametrize("key", [RSA_2048, ED25519], ids=["rsa", "ed25519"])
def test_pem_and_base64_der_give_the_same_record(key):
    assert d.dkim_value(pem(key), "k") == d.dkim_value(der_b64(key), "k") == \
        d.dkim_value("\n".join(re.findall(".{1,40}", der_b64(key))), "k")


@pytest.mark.parametrize("key", [RSA_2048, RSA_1024, ED25519, EC_P256], ids=["rsa2048", "rsa1024", "ed25519", "p256"])
def test_the_der_reader_judges_keys_as_cryptography_does(key):
    """Without cryptography on the host, the small DER reader must accept and refuse the same keys."""
    def outcome(has_cryptography):
        with mock.patch.object(d, "HAS_CRYPTOGRAPHY", has_cryptography):
            try:
                return d.dkim_value(pem(key), "dkim")
            except ValidationError as exc:
                return "refused: %s" % ("bits" if "1024 bits" in str(exc) else "type")
    assert outcome(True) == outcome(False)
    assert outcome(True).startswith("refused") == (key in (RSA_1024, EC_P256))


def test_mta_sts_policy_names_the_mx_hosts_and_its_id_follows_the_policy():
    records, policies = d.all_records([domain()], 300)
    assert policies["example.com"] == ("version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\n"
                                       "mx: mx2.example.com\r\nmax_age: 604800\r\n")
    first = by_kind(records, "mta_sts")[0]["value"]
    changed = by_kind(records_of(mta_sts=dict(mode="enforce")), "mta_sts")[0]["value"]
    assert re.match(r"\Av=STSv1; id=[0-9a-f]{20}\Z", first) and first != changed
    assert by_kind(records_of(mta_sts=dict(mode="testing", id="20261202")), "mta_sts")[0]["value"] == \
        "v=STSv1; id=20261202"
    own = d.all_records([domain(mta_sts=dict(mx=["*.example.net"], max_age=86400))], 300)[1]
    assert "mx: *.example.net\r\nmax_age: 86400\r\n" in own["example.com"]


def test_dmarc_writes_only_the_tags_given():
    value = d.dmarc_value(dict(policy="reject", subdomain_policy="none", pct=25, adkim="s", aspf="r",
                               rua=["mailto:a@example.com", "b@Reports.Example.NET"], ruf=["f@example.com"]), "dmarc")
    assert value == ("v=DMARC1; p=reject; sp=none; pct=25; adkim=s; aspf=r; "
                     "rua=mailto:a@example.com,mailto:b@reports.example.net; ruf=mailto:f@example.com")


# ---- what is refused -----------------------------------------------------------------------------

@pytest.mark.parametrize("change, field, words", [
    (dict(name="exa mple.com"), r"domains\[0\]\.name", "not a host name"),
    (dict(name="localhost"), r"domains\[0\]\.name", "single label"),
    (dict(dkim=[dict(selector="s.2026", public_key=pem(RSA_2048))]), r"domains\[0\]\.dkim\[0\]\.selector", "no dot"),
    (dict(dkim=[dict(selector="-s", public_key=pem(RSA_2048))]), r"dkim\[0\]\.selector", "DNS label"),
    (dict(dkim=[dict(selector="a", public_key=pem(RSA_2048)), dict(selector="A", public_key=pem(RSA_2048))]),
     r"dkim\[1\]\.selector", "twice"),
    (dict(dkim=[dict(selector="old", public_key=pem(RSA_1024))]), r"dkim\[0\]\.public_key", "1024 bits"),
    (dict(dkim=[dict(selector="ec", public_key=pem(EC_P256))]), r"dkim\[0\]\.public_key", "RSA"),
    (dict(dkim=[dict(selector="x", public_key="not base64!")]), r"dkim\[0\]\.public_key", "11 characters"),
    (dict(dmarc=dict(policy="strict")), r"dmarc\.policy", "none, quarantine, reject"),
    (dict(dmarc=dict(policy="none", subdomain_policy="drop")), r"dmarc\.subdomain_policy", "'drop'"),
    (dict(dmarc=dict(policy="none", pct=101)), r"dmarc\.pct", "0..100"),
    (dict(dmarc=dict(policy="none", adkim="x")), r"dmarc\.adkim", "strict"),
    (dict(dmarc=dict(policy="none", rua=["reports"])), r"dmarc\.rua\[0\]", "not an address"),
    (dict(dmarc=dict(policy="none", rua=["a,b@example.com"])), r"dmarc\.rua\[0\]", "','"),
    (dict(dmarc=dict(policy="none", ruf=["ok@example.com", "x@nodot"])), r"dmarc\.ruf\[1\]", "single label"),
    (dict(spf=dict(addresses=["192.0.2.256"])), r"spf\.addresses\[0\]", "IPv4 or IPv6"),
    (dict(spf=dict(addresses=["192.0.2.1/24"])), r"spf\.addresses\[0\]", "host bits"),
    (dict(spf=dict(include=["provider"])), r"spf\.include\[0\]", "single label"),
    (dict(spf=dict(all="+all")), r"spf\.all", "-all"),
    (dict(spf=dict(mechanisms=["redirect=_spf.example.com"])), r"spf\.mechanisms\[0\]", "SPF mechanism"),
    (dict(spf=dict(mechanisms=["exists"])), r"spf\.mechanisms\[0\]", "needs a domain"),
    (dict(mx=[dict(host="mx.example.com"), dict(host="MX.example.com.")]), r"mx\[1\]\.host", "twice"),
    (dict(mx=[dict(host="mx.example.com", preference=70000)]), r"mx\[0\]\.preference", "0..65535"),
    (dict(mx=[], mta_sts=dict(mode="enforce")), r"mta_sts\.mx", "no mail host"),
    (dict(mta_sts=dict(id="with-dash")), r"mta_sts\.id", "letters and digits"),
    (dict(mta_sts=dict(max_age=31557601)), r"mta_sts\.max_age", "31557600"),
    (dict(tls_rpt=dict(rua=[])), r"tls_rpt\.rua", "at least one"),
    (dict(tls_rpt=dict(rua=["https://reports.example.com/a;b"])), r"tls_rpt\.rua\[0\]", "';'"),
])
def test_bad_input_is_refused_naming_the_field(change, field, words):
    with pytest.raises(ValidationError, match=field) as info:
        records_of(**change)
    assert words in str(info.value)


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_a_private_key_is_refused_without_showing_it(encoding):
    private = RSA_2048.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    text = private.decode("ascii") if encoding == serialization.Encoding.PEM else base64.b64encode(private).decode("ascii")
    for has_cryptography in (True, False):
        with mock.patch.object(d, "HAS_CRYPTOGRAPHY", has_cryptography):
            with pytest.raises(ValidationError, match=r"dkim\[0\]\.public_key: ") as info:
                d.dkim_value(text, "dkim[0].public_key")
        assert not any(chunk in str(info.value) for chunk in re.findall(".{8}", "".join(text.splitlines()[1:-1]) or text))


def test_a_domain_listed_twice_is_refused():
    with pytest.raises(ValidationError, match=r"domains\[1\]\.name: 'EXAMPLE.com' is listed twice"):
        d.all_records([dict(name="example.com"), dict(name="EXAMPLE.com")], 60)


# ---- SPF lookups ---------------------------------------------------------------------------------

LOOKUP_FREE = ["ip4:192.0.2.1", "ip6:2001:db8::1", "-ip4:198.51.100.0/24"]
LOOKING = ["mx", "a", "a:relay.example.com", "mx/24", "exists:%{i}.spf.example.com", "~include:_spf.example.net", "ptr"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LOOKUP_FREE + LOOKING), max_size=14), st.integers(0, 6))
def test_more_than_ten_lookups_are_refused_and_no_fewer(mechanisms, includes):
    spf = dict(mechanisms=mechanisms, include=["inc%d.example.com" % i for i in range(includes)])
    lookups = sum(1 for m in mechanisms if m in LOOKING) + includes
    if lookups > 10:
        with pytest.raises(ValidationError, match=r"spf: %d mechanisms that cost a DNS lookup" % lookups):
            d.spf_value(spf, "spf")
    else:
        value = d.spf_value(spf, "spf")
        assert d.spf_lookups(value) == lookups
        assert value.split() == ["v=spf1"] + mechanisms + ["include:inc%d.example.com" % i for i in range(includes)] + ["-all"]


@pytest.mark.parametrize("text, lookups", [
    ("v=spf1 -all", 0), ("v=spf1 ip4:192.0.2.1 ~all", 0), ("v=spf1 redirect=_spf.example.com", 1),
    ("v=spf1 a mx ptr exists:x.example include:y.example -all", 5), ("v=spf1 MX A:x.example -all", 2),
    ("v=spf1 exp=explain.example.com -all", 0),
])
def test_lookup_count_of_any_record(text, lookups):
    assert d.spf_lookups(text) == lookups


# ---- the zone file, read back by dnspython ------------------------------------------------------

def parse_zone(lines):
    """The records of lines as dnspython's master-file parser reads them, with the SOA and NS a
    real zone needs."""
    head = ("$ORIGIN example.com.\n@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n"
            "@ 3600 IN NS ns1.example.com.\n")
    return dns_zone.from_text(head + lines, origin="example.com.", relativize=False)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=700))
def test_txt_lines_read_back_as_the_same_octets(value):
    record = dict(name="t.example.com.", type="TXT", ttl=300, value=value)
    line = d.zone_line(record)
    assert "\n" not in line and line.isascii()
    rdataset = parse_zone(line + "\n").find_rdataset("t.example.com.", "TXT")
    (rdata,) = list(rdataset)
    assert b"".join(rdata.strings) == value.encode("utf-8")
    assert all(len(string) <= 255 for string in rdata.strings)
    assert len(rdata.strings) == max(1, -(-len(value.encode("utf-8")) // 255))
    assert rdataset.ttl == 300


def test_a_whole_zone_reads_back_as_the_records():
    records = records_of()
    zone = parse_zone(d.zone_text(records))
    for record in records:
        rdataset = zone.find_rdataset(record["name"], record["type"])
        texts = [b"".join(r.strings).decode("ascii") if record["type"] == "TXT" else r.to_text() for r in rdataset]
        assert record["value"] in texts
    assert len(by_kind(records, "dkim")[0]["value"]) > 255


def test_quotes_and_backslashes_are_escaped_per_rfc1035():
    assert d.character_strings('a"b\\c;d') == '"a\\"b\\\\c;d"'
    assert d.character_strings("é") == '"\\195\\169"'
    assert d.character_strings("") == '""'
    assert d.character_strings("x" * 256) == '"%s" "x"' % ("x" * 255)


# ---- comparison with what DNS answers -----------------------------------------------------------

def answers_for(records):
    """What a DNS server publishing exactly these records answers."""
    answers = {}
    for record in records:
        answers.setdefault((record["name"], record["type"]), []).append(
            record["value"].rstrip(".") if record["type"] == "MX" else record["value"])
    return answers


def statuses(records, answers):
    return [(r["kind"], r["status"]) for r in d.compare(records, answers)]


def test_what_is_published_as_computed_is_present():
    records = records_of()
    checked = d.compare(records, answers_for(records))
    assert {r["status"] for r in checked} == {"present"}
    assert [r["value"] for r in checked] == [r["value"] for r in records]


def test_nothing_published_is_missing():
    assert {r["status"] for r in d.compare(records_of(), {})} == {"missing"}


@pytest.mark.parametrize("kind, published", [
    ("spf", "V=SPF1   IP4:192.0.2.25 ip6:2001:db8::25  include:_SPF.provider.example ~ALL"),
    ("dmarc", "v=DMARC1 ;p=Quarantine; rua = mailto:DMARC@example.com; pct=100; adkim=r"),
    ("tls_rpt", "v=TLSRPTv1;rua=mailto:tlsrpt@example.com"),
])
def test_texts_compare_as_receivers_read_them(kind, published):
    records = records_of()
    answers = answers_for(records)
    name = by_kind(records, kind)[0]["name"]
    answers[(name, "TXT")] = ["google-site-verification=abc", published]
    assert dict(statuses(records, answers))[kind] == "present"


def test_dkim_compares_tags_with_whitespace_folded_and_k_defaulting_to_rsa():
    records = records_of()
    dkim = by_kind(records, "dkim")[0]
    p = dkim["value"].split("p=")[1]
    folded = "v=DKIM1; p=%s %s\t%s" % (p[:100], p[100:200], p[200:])
    answers = answers_for(records)
    answers[(dkim["name"], "TXT")] = [folded]
    assert statuses(records, answers)[3] == ("dkim", "present")
    answers[(dkim["name"], "TXT")] = [folded.replace(p[50], "A" if p[50] != "A" else "B", 1)]
    assert statuses(records, answers)[3] == ("dkim", "different")
    answers[(dkim["name"], "TXT")] = ["v=DKIM1; k=rsa; t=y; p=" + p]
    assert statuses(records, answers)[3] == ("dkim", "different")


@pytest.mark.parametrize("kind, published", [
    ("spf", "v=spf1 ip4:192.0.2.25 -all"),
    ("dmarc", "v=DMARC1; p=none; rua=mailto:dmarc@example.com"),
    ("dmarc", "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com; sp=reject"),
    ("mta_sts", "v=STSv1; id=old"),
])
def test_a_changed_text_is_different_and_shows_what_was_found(kind, published):
    records = records_of()
    answers = answers_for(records)
    name = by_kind(records, kind)[0]["name"]
    answers[(name, "TXT")] = [published, "unrelated text"]
    checked = [r for r in d.compare(records, answers) if r["kind"] == kind][0]
    assert (checked["status"], checked["found"]) == ("different", [published])


def test_two_spf_records_are_never_present():
    records = records_of()
    answers = answers_for(records)
    spf = by_kind(records, "spf")[0]
    answers[(spf["name"], "TXT")] = [spf["value"], "v=spf1 -all"]
    assert dict(statuses(records, answers))["spf"] == "different"


@pytest.mark.parametrize("published, status", [
    (["20 MX2.example.com.", "10 mx1.EXAMPLE.com"], "present"),
    (["10 mx1.example.com."], "different"),
    (["10 mx1.example.com.", "20 mx2.example.com.", "30 backup.example.net."], "different"),
    (["10 mx1.example.com.", "10 mx2.example.com."], "different"),
    ([], "missing"),
])
def test_mx_compares_as_a_set_of_preference_and_host(published, status):
    records = records_of()
    answers = answers_for(records)
    answers[("example.com.", "MX")] = published
    assert [s for k, s in statuses(records, answers) if k == "mx"] == [status, status]


def test_an_error_from_dns_is_that_record_s_status():
    records = records_of()
    answers = answers_for(records)
    answers[("_dmarc.example.com.", "TXT")] = "LifetimeTimeout: no answer in 5 s"
    checked = dict(statuses(records, answers))
    assert checked["dmarc"] == "error: LifetimeTimeout: no answer in 5 s" and checked["spf"] == "present"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 7), st.sampled_from(["delete", "change"]))
def test_exactly_the_record_changed_in_dns_stops_being_present(index, how):
    records = records_of()
    target = records[index]
    answers = answers_for(records)
    key = (target["name"], target["type"])
    kept = [v for v in answers[key] if v != (target["value"].rstrip(".") if target["type"] == "MX" else target["value"])]
    value = target["value"]
    changed = "99 other.example.org" if target["type"] == "MX" else value[:-1] + ("y" if value.endswith("x") else "x")
    answers[key] = kept + ([changed] if how == "change" else [])
    result = d.compare(records, answers)
    spoilt = {i for i, r in enumerate(result) if r["status"] != "present"}
    same_rrset = {i for i, r in enumerate(records) if r["kind"] == "mx"} if target["kind"] == "mx" else {index}
    assert spoilt == same_rrset
    expected = "different" if how == "change" or (target["kind"] == "mx" and kept) else "missing"
    assert {result[i]["status"] for i in spoilt} == {expected}


def test_queries_ask_each_name_and_type_once():
    assert d.queries(records_of()) == [
        ("example.com.", "MX"), ("example.com.", "TXT"), ("s2026._domainkey.example.com.", "TXT"),
        ("ed._domainkey.example.com.", "TXT"), ("_dmarc.example.com.", "TXT"),
        ("_mta-sts.example.com.", "TXT"), ("_smtp._tls.example.com.", "TXT")]


def test_an_unreachable_server_is_an_error_per_record_not_a_crash():
    pytest.importorskip("dns.resolver")
    answers = d.ask_dns([("example.com.", "MX"), ("_dmarc.example.com.", "TXT")], "127.0.0.1", 9, 0.3)
    assert all(isinstance(v, str) and v for v in answers.values())
    assert all(r["status"].startswith("error: ") for r in d.compare(records_of(), answers)
               if (r["name"], r["type"]) in answers)


@pytest.mark.parametrize("value, accepted", [("192.0.2.53", "192.0.2.53"), ("2001:DB8::53", "2001:db8::53"),
                                             ("localhost", None)])
def test_the_nameserver_is_an_address_or_a_name_that_resolves(value, accepted):
    address = d.nameserver_address(value)
    assert address == accepted if accepted else address in ("127.0.0.1", "::1")


def test_a_nameserver_that_is_no_name_is_refused():
    with pytest.raises(ValidationError, match="nameserver: 'not a host'"):
        d.nameserver_address("not a host")
