# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tcprules compilation, checked byte for byte against Debian's real /usr/bin/tcprules and read back
with the real tcprulescheck; rule validation and rendering; the unchanged-rules fast path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.mailops.qmail.plugins.module_utils import cdb
from ansible_collections.mailops.qmail.plugins.module_utils import tcprules
from ansible_collections.mailops.qmail.plugins.module_utils.validate import ValidationError

TCPRULES = "/usr/bin/tcprules"
TCPRULESCHECK = "/usr/bin/tcprulescheck"
needs_tcprules = pytest.mark.skipif(
    not (os.access(TCPRULES, os.X_OK) and os.access(TCPRULESCHECK, os.X_OK)),
    reason="Debian's ucspi-tcp (tcprules, tcprulescheck) is not installed: apt-get install ucspi-tcp")

# Source texts exactly as a user could write them: tcprules must accept each one.
SOURCES = {
    "empty": b"",
    "only-comments": b"# nothing\n#:allow\n",
    "default-allow": b":allow\n",
    "default-deny": b":deny\n",
    "no-final-newline": b"127.:allow,RELAYCLIENT=\"\"",
    "empty-value": b"127.0.0.1:allow,RELAYCLIENT=\"\"\n",
    "several-vars": b"10.:allow,RELAYCLIENT=\"\",SMTPAUTH=\"!\",RBLSMTPD=\"-no\"\n",
    "deny-with-vars": b"192.0.2.1:deny,RBLSMTPD=\"blocked\"\n",
    "odd-quotes": b"1.:allow,A='x\"y',B=/p/,C=xx,D=%a b%\n",
    "colon-in-value": b"1.2.:allow,GREETING=\"a:b:c\"\n",
    "comma-in-value": b"1.2.:allow,X=\"a,b\"\n",
    "equals-in-value": b"1.2.:allow,X=\"a=b\"\n",
    "comments-blank-lines": b"# head\n\n127.:allow\n\n# mid\n:deny\n",
    "indented-comment-is-a-rule": b" #x:allow\n",
    "trailing-blanks": b"127.:allow  \t \n:deny\t\n",
    "line-without-colon": b"just words\n127.:allow\n",
    "whitespace-only-line": b"   \n127.:allow\n",
    "range-last-octet": b"192.0.2.10-20:allow\n",
    "range-middle-octet": b"10.1-3.:allow\n",
    "range-first-octet": b"1-5.:deny\n",
    "range-capped-at-255": b"10.0.0.250-300:allow\n",
    "range-empty": b"10.0.0.9-3:allow\n",
    "range-open-bottom": b"10.0.0.-3:allow\n",
    "range-with-vars": b"10.0.0.1-4:allow,RELAYCLIENT=\"\"\n",
    "hostnames": b"=mail.example.com:allow\n=.example.com:allow,X=\"1\"\n=:deny\n",
    "hostname-with-dash-not-range": b"=mail-1.example.com:allow\n",
    "info-with-dash-not-range": b"joe@10.0.0.1-5:allow\n",
    "duplicates": b"127.0.0.1:allow,A=\"1\"\n127.0.0.1:deny\n127.0.0.1:allow,A=\"3\"\n",
    "duplicate-range-overlap": b"10.0.0.1-3:allow\n10.0.0.2:deny\n",
    "crlf-in-value": b"1.:allow,X=\"a\rb\"\n",
    "utf8-value": u"1.:allow,GREETING=\"gr\u00fc\u00df dich\"\n".encode("utf-8"),
    "long-value": b"1.:allow,RBLSMTPD=\"" + b"x" * 5000 + b"\"\n",
    "large-crosses-parse-chunks-and-hash-blocks": b"".join(
        b"10.%d.%d.%d:allow,RELAYCLIENT=\"\",N=\"%d\"\n" % (a, b, c, a * b)
        for a in range(2) for b in range(40) for c in range(0, 250, 2)) + b"=x-y.example:deny\n",
    "many-keys-one-bucket": b"".join(b"10.%d.%d.%d:allow\n" % (a, b, c)
                                     for a in range(3) for b in range(20) for c in range(30)),
    # getnum() reads a NUL-terminated copy: a NUL ends the number, the rest of it is ignored.
    "range-nul-ends-the-number": b"10.0.0.1\x00x-3:allow\n10.0.1.1-2\x00junk:deny\n",
    # scan_ulong() wraps around; tcprules then caps the top at 255.
    "range-huge-numbers": b"10.0.0.250-" + b"9" * 5000 + b":allow\n10.0.1.18446744073709551617-3:deny\n",
}

# tcprules refuses these (exit 100); so must compile_source().
BAD_SOURCES = {
    "no-action": b"127.:\n",
    "unknown-action": b"127.:permit\n",
    "space-before-comma": b"127.:allow ,X=\"1\"\n",
    "no-equals": b"127.:allow,RELAYCLIENT\n",
    "unterminated-quote": b"127.:allow,X=\"abc\n",
    "missing-quote": b"127.:allow,X=\n",
    "garbage-after-value": b"127.:allow,X=\"1\"Y\n",
    "range-not-a-number": b"10.0.0.a-3:allow\n",
    "allowed-typo": b"127.:allowed\n",
    "crlf-line-end": b"127.:allow\r\n",
    "range-non-ascii-digit": u"10.0.0.\u00b2-3:allow\n".encode("utf-8"),
}


def real_tcprules(tmp_path, source):
    target = tmp_path / "real.cdb"
    proc = subprocess.run([TCPRULES, str(target), str(tmp_path / "real.tmp")], input=source,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, target.read_bytes() if proc.returncode == 0 else proc.stderr


def check(cdb_path, ip, host=None, info=None):
    env = dict(os.environ, TCPREMOTEIP=ip)
    env.pop("TCPREMOTEHOST", None)
    env.pop("TCPREMOTEINFO", None)
    if host:
        env["TCPREMOTEHOST"] = host
    if info:
        env["TCPREMOTEINFO"] = info
    proc = subprocess.run([TCPRULESCHECK, str(cdb_path)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout


PROBES = [("127.0.0.1", None, None), ("10.0.0.2", None, None), ("10.1.5.6", "mail.example.com", None),
          ("192.0.2.15", "x.example.com", None), ("1.2.3.4", None, "joe"), ("10.0.0.3", None, "joe"),
          ("203.0.113.9", "mail-1.example.com", None), ("4.4.4.4", None, None)]


@needs_tcprules
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_cdb_is_byte_identical_to_real_tcprules(tmp_path, name):
    rc, real = real_tcprules(tmp_path, SOURCES[name])
    assert rc == 0, real
    ours = tcprules.compile_source(SOURCES[name])
    assert ours == real
    mine = tmp_path / "ours.cdb"
    mine.write_bytes(ours)
    for ip, host, info in PROBES:
        assert check(mine, ip, host, info) == check(tmp_path / "real.cdb", ip, host, info)
        assert check(mine, ip, host, info)[0] in (0, 100)


@needs_tcprules
@pytest.mark.parametrize("name", sorted(BAD_SOURCES))
def test_sources_tcprules_refuses_are_refused_with_the_line(tmp_path, name):
    rc, _stderr = real_tcprules(tmp_path, BAD_SOURCES[name])
    assert rc == 100
    with pytest.raises(tcprules.TcpRulesError, match=r"^line 1: "):
        tcprules.compile_source(BAD_SOURCES[name])


def _random_line(rng):
    def octet():
        return str(rng.choice([0, 1, 2, 10, 127, 192, 255, rng.randint(0, 255)]))

    kind = rng.randint(0, 7)
    if kind == 0:
        address = ".".join(octet() for _i in range(4))
    elif kind == 1:
        address = "".join(octet() + "." for _i in range(rng.randint(1, 3)))
    elif kind == 2:
        low = rng.randint(0, 255)
        address = "10.%s.%d-%d" % (octet(), low, low + rng.randint(0, 20))
    elif kind == 3:
        address = "=" + rng.choice(["", ".example.com", "mail.example.com", "a-b.example.org"])
    elif kind == 4:
        address = ""
    elif kind == 5:
        address = "%d-%d." % (rng.randint(0, 5), rng.randint(0, 9))
    elif kind == 6:
        address = "# comment %d" % rng.randint(0, 9)
    else:
        address = "10.0.%s." % octet()
    line = address + ":" + rng.choice(["allow", "deny"])
    for _i in range(rng.randint(0, 3)):
        quote = rng.choice("\"'/%")
        value = rng.choice(["", "x", "a b", "1", "-blocked", "a:b", "a,b"])
        line += ",%s=%s%s%s" % (rng.choice(["RELAYCLIENT", "SMTPAUTH", "RBLSMTPD", "X"]), quote,
                                value, quote)
    return line + rng.choice(["", " ", "\t"])


@needs_tcprules
@pytest.mark.parametrize("seed", range(12))
def test_random_rule_sets_match_real_tcprules(tmp_path, seed):
    rng = random.Random(seed)
    source = ("\n".join(_random_line(rng) for _i in range(rng.randint(1, 400))) + "\n").encode()
    rc, real = real_tcprules(tmp_path, source)
    assert rc == 0, real
    assert tcprules.compile_source(source) == real


@needs_tcprules
def test_rendered_rules_compile_like_real_tcprules(tmp_path):
    rules = [
        dict(match="127.", env={"RELAYCLIENT": ""}),
        dict(match="192.0.2.0/25", comment="office\nsecond line"),
        dict(match="10.16.0.0/12", action="deny"),
        dict(match="=.example.com", env={"X": 'a"b', "Y": "a\"b'c"}),
        dict(match="", env={"SMTPAUTH": "!", "RBLSMTPD": ""}),
    ]
    source = tcprules.render(rules).encode()
    rc, real = real_tcprules(tmp_path, source)
    assert rc == 0, real
    assert tcprules.compile_source(source) == real
    (tmp_path / "ours.cdb").write_bytes(tcprules.compile_source(source))
    answer = check(tmp_path / "ours.cdb", "1.1.1.1", "h.example.com")[1]
    assert b"set environment variable Y=a\"b'c" in answer
    assert b"deny connection" in check(tmp_path / "ours.cdb", "10.20.1.1")[1]
    assert b"allow connection" in check(tmp_path / "ours.cdb", "192.0.2.127")[1]
    assert b"SMTPAUTH=!" in check(tmp_path / "ours.cdb", "192.0.2.128")[1]


def test_parser_paths_agree():
    for source in SOURCES.values():
        assert tcprules.parse_source(source) == tcprules._parse_lines(source)


def test_deny_and_env_encoding():
    keys, values = tcprules.parse_source(b"1.:deny,A=\"x\",B=''\n")
    assert keys == [b"1."]
    assert values == [b"D\x00+A=x\x00+B=\x00"]


def test_error_names_line_number_and_reason():
    with pytest.raises(tcprules.TcpRulesError, match=r"line 3: .*no closing"):
        tcprules.compile_source(b"# x\n1.:allow\n2.:allow,X=\"y\n")


@pytest.mark.parametrize("match, written", [
    ("", ""), ("=", "="), ("=mail.example.com", "=mail.example.com"), ("=.example.com", "=.example.com"),
    ("=Mail.Example.COM", "=mail.example.com"),
    ("192.0.2.1", "192.0.2.1"), ("192.0.2.", "192.0.2."), ("10.", "10."),
    ("192.0.2.10-20", "192.0.2.10-20"), ("10.1-3.", "10.1-3."),
    ("192.0.2.0/24", "192.0.2."), ("10.0.0.0/8", "10."), ("192.0.2.7/32", "192.0.2.7"),
    ("192.0.2.128/25", "192.0.2.128-255"), ("10.16.0.0/12", "10.16-31."), ("0.0.0.0/0", ""),
    ("0.0.0.0/1", "0-127."),
])
def test_match_forms(match, written):
    assert tcprules.normalize_match(match) == written


@pytest.mark.parametrize("match, message", [
    ("192.0.2.1/24", "host bits set; the network is 192.0.2.0/24"),
    ("192.0.2.0/33", "not an IPv4 network"),
    ("192.0.2.256", "not a number from 0 to 255"),
    ("1.2.3.4.5", "more than four octets"),
    ("127.0", "neither a full IPv4 address nor a prefix"),
    ("mail.example.com", "write '=mail.example.com'"),
    ("=bad..host", "not a host name"),
    ("=bad_host!", "contains '!'"),
    ("=mail.example.com.", "ends with a dot"),
    ("0.0.0.\u00b2", "ASCII"),
    ("0.0.0.\u0660", "ASCII"),
    ("10.0.0.1\n", "line break"),
    ("10.0.0.1-\x005", "NUL"),
    ("10.0.0.1-" + "9" * 5000, "a 5000-digit number is not a number from 0 to 255"),
    ("\ud800", "ASCII"),
    ("10.1-3.4-5", "range in one octet only"),
    ("10.9-3.", "the range 9-3 is empty"),
    ("::1", "colon"),
    ("fe80/10", "not an IPv4 network"),
    ("joe@1.2.3.4", "TCPREMOTEINFO"),
    ("1.2.3.4 ", "whitespace"),
    (5, "must be a string"),
])
def test_bad_matches_name_field_and_value(match, message):
    with pytest.raises(ValidationError, match="match") as info:
        tcprules.normalize_match(match)
    assert message in str(info.value)
    assert repr(match) in str(info.value)


@pytest.mark.parametrize("rule, message", [
    (dict(match="1.", action="permit"), "rules[0].action: 'permit' must be allow or deny"),
    (dict(match="1.", env={"BAD-NAME": "x"}), "rules[0].env.BAD-NAME"),
    (dict(match="1.", env={"X": "a\nb"}), "newline"),
    (dict(match="1.", env={"X": True}), "string or an integer"),
    (dict(match="1.", env={"X": "\"'/|%#^~!@+;"}), "every quote character"),
    (dict(match="1.", env={"X": "a\ud800"}), "rules[0].env.X: 'a\\ud800' contains '\\ud800', a lone surrogate"),
    (dict(match="1.", env={"X": 10 ** 5000}), "rules[0].env.X: a 16610-bit number is too large"),
    (dict(match="1.", env={"\ud800": "x"}), "is not an environment variable name"),
    (dict(match="1.", env={"A\n": "x"}), "is not an environment variable name"),
    (dict(match="1.", comment="caf\udce9"), "rules[0].comment: 'caf\\udce9' contains '\\udce9'"),
    (dict(match="1.", comment=["x"]), "rules[0].comment: ['x'] must be a string"),
    (dict(match=None), "rules[0].match: null is not a match"),
    (dict(match="1.", env=["X"]), "must be a dict"),
    (dict(match="1.", colour="red"), "unknown key(s) colour"),
    ("1.:allow", "must be a dict"),
])
def test_bad_rules(rule, message):
    with pytest.raises(ValidationError) as info:
        tcprules.render([rule])
    assert message in str(info.value)


def test_env_values_pick_a_quote_they_do_not_contain():
    text = tcprules.render_rule(dict(match="1.", env={"A": "x", "B": 'say "hi"', "C": 7}))
    assert text == "1.:allow,A=\"x\",B='say \"hi\"',C=\"7\"\n"


def test_plan_fast_path_and_rebuild_of_a_corrupt_cdb():
    rules = [dict(match="127.", env={"RELAYCLIENT": ""}), dict(match="", action="deny")]
    first = tcprules.plan(rules, None, None)
    assert first["compiled"] and first["cdb_changed"] and first["source_changed"]
    again = tcprules.plan(rules, first["source"], first["cdb"])
    assert not again["compiled"] and not again["cdb_changed"] and not again["source_changed"]
    corrupt = first["cdb"][:2060] + b"X" + first["cdb"][2061:]
    fixed = tcprules.plan(rules, first["source"], corrupt)
    assert fixed["compiled"] and fixed["cdb_changed"] and fixed["cdb"] == first["cdb"]
    assert not fixed["source_changed"]
    edited = first["source"] + b"10.:allow\n"
    redo = tcprules.plan(rules, edited, first["cdb"])
    assert redo["source_changed"] and not redo["cdb_changed"]
    other = tcprules.plan(rules + [dict(match="10.")], first["source"], first["cdb"])
    assert other["source_changed"] and other["cdb_changed"]


def test_describe_cdb():
    data = tcprules.compile_source(b"1-3.:allow\n")
    assert tcprules.describe_cdb(data).startswith("3 records, ")
    assert tcprules.describe_cdb(b"junk").startswith("corrupt CDB")
    assert cdb.get(data, b"2.") == b""


def test_leading_zeros_are_refused_because_they_never_match():
    with pytest.raises(ValidationError, match="leading zero"):
        tcprules.normalize_match("192.0.2.010")
    with pytest.raises(ValidationError, match="leading zero"):
        tcprules.normalize_match("010.")


def test_shared_env_is_checked_once_per_distinct_set_but_errors_still_name_the_rule():
    env = {"RELAYCLIENT": ""}
    text = tcprules.render([dict(match="10.0.0.%d" % i, env=env) for i in range(3)], header=False)
    assert text.count(',RELAYCLIENT=""') == 3
    with pytest.raises(ValidationError, match=r"rules\[1\].env.X"):
        tcprules.render([dict(match="1.", env={"A": ""}), dict(match="2.", env={"X": ["list"]})])


def test_an_env_set_seen_before_does_not_let_an_equal_value_of_another_type_through():
    with pytest.raises(ValidationError, match=r"rules\[1\].env.X: True must be a string or an integer"):
        tcprules.render([dict(match="1.", env={"X": 1}), dict(match="2.", env={"X": True})])


def test_error_line_number_in_a_large_source():
    source = b"".join(b"10.0.%d.%d:allow\n" % (i // 250, i % 250) for i in range(20000))
    assert len(source) > tcprules._CHUNK
    with pytest.raises(tcprules.TcpRulesError, match=r"^line 19001: "):
        tcprules.compile_source(source.replace(b"10.0.76.0:allow", b"10.0.76.0:allowed"))


# Source lines as tcprules accepts them, built to reach every branch of the fast parser: comments
# (with colons), blank and colon-less lines, ranges of every shape, keys with '-' that are not
# ranges, values holding ':', '-', '=' and '#', trailing blanks.
_OCTET = st.sampled_from(["0", "1", "9", "10", "127", "255", "256", "007", ""])
_RANGE = st.builds(lambda head, low, high, tail: head + low + "-" + high + tail,
                   st.sampled_from(["", "10.", "10.0.", "192.0.2."]), _OCTET,
                   st.sampled_from(["3", "20", "255", "300", "18446744073709551617", ""]),
                   st.sampled_from(["", ".", ".5", ".1.2"]))
_KEY = st.one_of(
    _RANGE,
    st.builds(".".join, st.lists(_OCTET, min_size=1, max_size=4)),
    st.sampled_from(["", "=", "=mail.example.com", "=mail-1.example.com", "=.x-y.example", "joe@10.0.0.1-5",
                     "1-2=x", "a@b", " #x", "1-2.3-4"]))
_VALUE = st.sampled_from(["", "x", "a b", "-blocked", "a:b", "a,b", "a=b", "#1", "\u00fc"])
_RULE = st.builds(
    lambda key, action, env, blanks: key + ":" + action + "".join(
        ",%s=%s%s%s" % (name, quote, value, quote) for name, quote, value in env) + blanks,
    _KEY, st.sampled_from(["allow", "deny"]),
    st.lists(st.tuples(st.sampled_from(["RELAYCLIENT", "X"]), st.sampled_from(["\"", "'", "/"]), _VALUE),
             max_size=2),
    st.sampled_from(["", "", "", " ", "\t ", "  "]))
_LINE = st.one_of(_RULE, _RULE, _RULE, st.sampled_from(["# comment", "#x:deny", "#", "", "   ", "no colon"]))
_SOURCE = st.builds(lambda lines, newline: ("\n".join(lines) + newline).encode("utf-8"),
                    st.lists(_LINE, max_size=40), st.sampled_from(["\n", ""]))


@settings(max_examples=500, deadline=None)
@given(_SOURCE)
def test_fast_parser_agrees_with_the_line_by_line_parser(source):
    assert tcprules.parse_source(source) == tcprules._parse_lines(source)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RULE.filter(lambda line: line.count(":") == 1), min_size=1, max_size=40),
       st.lists(st.sampled_from(["# note", "#a:b:c", "#"]), max_size=3))
def test_one_colon_lines_and_comments_take_the_fast_path(rules, comments):
    source = ("\n".join(comments + rules + comments) + "\n").encode("utf-8")
    assert tcprules._parse_one_colon_lines(source) == tcprules._parse_lines(source)


@needs_tcprules
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_SOURCE)
def test_random_sources_compile_like_real_tcprules(tmp_path, source):
    rc, real = real_tcprules(tmp_path, source)
    assert rc == 0, real
    assert tcprules.compile_source(source) == real
