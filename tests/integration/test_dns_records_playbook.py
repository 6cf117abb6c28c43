"""The playbook mailops.qmail.dns_records, run by ansible-playbook as a user runs it, against
localhost with a DKIM key this test makes: the printed zone lines hold the MX, the SPF record with
the host's address, the DKIM TXT with that key's public part, and DMARC; check mode prints the
same and nothing changes; bad input is refused naming the variable. With nsd (Debian package
nsd) and dnspython, the printed lines, pasted into a zone, load into nsd and the playbook's check
reports every record present.
"""
import base64
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

cryptography = pytest.importorskip("cryptography", reason="cryptography makes the test's DKIM key")
from cryptography.hazmat.primitives import serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402  pylint: disable=wrong-import-position

DOMAIN = "example.test"
SELECTOR = "s2026"
ZONE_TASK = "Print the zone-file lines to paste"
STATUS_TASK = "Print what DNS holds for each record"


@pytest.fixture(scope="module")
def public_key(tmp_path_factory):
    """(key directory, the p= value) of an RSA key in the dkim role's layout, DIR/DOMAIN/SELECTOR.private."""
    key_dir = tmp_path_factory.mktemp("dkim")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (key_dir / DOMAIN).mkdir(mode=0o700)
    key_file = key_dir / DOMAIN / ("%s.private" % SELECTOR)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key_dir, base64.b64encode(der).decode("ascii")


def inventory(key_dir, **changes):
    """One host, this machine over the local connection, as a user would describe an MX host."""
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "mailops_qmail_spf_addresses": ["192.0.2.25"],
        "dkim_key_dir": str(key_dir),
        "dkim_domains": [{"domain": DOMAIN, "selector": SELECTOR}],
    }
    domain = {
        "name": DOMAIN,
        "mx": ["mx1.%s" % DOMAIN],
        "dmarc": {"policy": "none", "rua": ["dmarc@%s" % DOMAIN]},
        "tls_rpt": {"rua": ["tls-reports@%s" % DOMAIN]},
    }
    domain.update(changes.pop("domain", {}))
    host.update(changes)
    return {"all": {"hosts": {"mx1.%s" % DOMAIN: host}, "vars": {"mailops_qmail_domains": [domain]}}}


def run_playbook(tmp_path, hosts, *args):
    """(exit status, what ansible-playbook printed) with the YAML result format docs/publishing.md asks for."""
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(hosts))
    env = dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="yaml", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    done = subprocess.run(["ansible-playbook", "-i", str(path), "mailops.qmail.dns_records"] + list(args),
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, done.stdout + done.stderr


def printed_block(output, task):
    """The lines of the one msg block the task printed, without the callback's indentation, as a
    person copies them."""
    after = output.split("TASK [%s]" % task, 1)[1]
    match = re.search(r"\n( +)msg: \|-?\n((?:\1 +\S.*\n)+)", after)
    assert match, "no msg block printed by %r:\n%s" % (task, after)
    return textwrap.dedent(match.group(2)).splitlines()


def txt_text(line):
    """The TXT value as receivers read it: the character-strings of the line joined."""
    return "".join(re.sub(r"\\(.)", r"\1", part) for part in re.findall(r'"((?:[^"\\]|\\.)*)"', line))


def by_owner(lines, owner, rtype):
    return [line for line in lines if line.split()[0] == owner and line.split()[3] == rtype]


def assert_records(lines, p_value):
    assert by_owner(lines, "%s." % DOMAIN, "MX") == ["%s. 3600 IN MX 10 mx1.%s." % (DOMAIN, DOMAIN)]
    [spf] = by_owner(lines, "%s." % DOMAIN, "TXT")
    assert txt_text(spf) == "v=spf1 ip4:192.0.2.25 -all"
    [dkim] = by_owner(lines, "%s._domainkey.%s." % (SELECTOR, DOMAIN), "TXT")
    assert txt_text(dkim) == "v=DKIM1; k=rsa; p=%s" % p_value
    # A 2048-bit key's record is longer than one character-string may be.
    assert all(len(part) <= 255 for part in re.findall(r'"([^"]*)"', dkim)) and dkim.count('"') == 4
    [dmarc] = by_owner(lines, "_dmarc.%s." % DOMAIN, "TXT")
    assert txt_text(dmarc) == "v=DMARC1; p=none; rua=mailto:dmarc@%s" % DOMAIN


def test_prints_the_records_and_changes_nothing(tmp_path, public_key):
    key_dir, p_value = public_key
    status, output = run_playbook(tmp_path, inventory(key_dir))
    assert status == 0, output
    lines = printed_block(output, ZONE_TASK)
    assert_records(lines, p_value)
    assert len(lines) == 5 and by_owner(lines, "_smtp._tls.%s." % DOMAIN, "TXT")
    assert re.search(r"changed=0 .*failed=0", output), output

    status, checked = run_playbook(tmp_path, inventory(key_dir), "--check")
    assert status == 0, checked
    assert printed_block(checked, ZONE_TASK) == lines


def test_mx_preferences_follow_the_order_unless_given(tmp_path, public_key):
    mx = ["mx1.%s" % DOMAIN, {"host": "mx9.%s" % DOMAIN, "preference": 5}, "mx3.%s" % DOMAIN]
    hosts = inventory(public_key[0], domain={"mx": mx, "spf": {"addresses": ["198.51.100.7"], "all": "~all"}})
    status, output = run_playbook(tmp_path, hosts)
    assert status == 0, output
    lines = printed_block(output, ZONE_TASK)
    assert [line.split(" ", 4)[4] for line in by_owner(lines, "%s." % DOMAIN, "MX")] == [
        "10 mx1.%s." % DOMAIN, "5 mx9.%s." % DOMAIN, "30 mx3.%s." % DOMAIN]
    # Addresses the domain gives replace those of its MX hosts.
    assert txt_text(by_owner(lines, "%s." % DOMAIN, "TXT")[0]) == "v=spf1 ip4:198.51.100.7 ~all"


@pytest.mark.parametrize("changes, expected", [
    ({"domain": {"dmarc": {"policy": "block"}}},
     ["Compute the records of mailops_qmail_domains", "policy", "block", "none, quarantine, reject"]),
    ({"domain": {"mx": ["mx1.%s" % DOMAIN, "backup.elsewhere.example"]}},
     ["mailops_qmail_domains[0].mx[1]: backup.elsewhere.example is no host of the inventory",
      "mailops_qmail_domains[0].spf.addresses"]),
    ({"dkim_domains": [{"domain": DOMAIN, "selector": "s2027"}]},
     ["dkim_domains: s2027._domainkey.%s has no key at" % DOMAIN, "run mailops.qmail.site"]),
], ids=["bad-dmarc-policy", "mx-not-in-inventory", "key-not-made"])
def test_refuses_naming_the_variable(tmp_path, public_key, changes, expected):
    status, output = run_playbook(tmp_path, inventory(public_key[0], **changes))
    assert status != 0
    for text in expected:
        assert text in output, output
    assert "TASK [%s]" % ZONE_TASK not in output
    assert not list((public_key[0] / DOMAIN).glob("s2027*"))


def test_printed_lines_load_into_nsd_and_check_present(tmp_path, public_key):
    """The lines as printed, pasted into a zone, are what nsd serves and the check finds."""
    pytest.importorskip("dns.resolver", reason="dnspython is not installed in this Python")
    live = pytest.importorskip("test_dns_records_live", reason="the nsd helpers of test_dns_records_live.py")
    if live.NSD is None:
        pytest.skip("nsd is not installed (apt-get install nsd)")
    key_dir, p_value = public_key
    status, output = run_playbook(tmp_path, inventory(key_dir))
    assert status == 0, output
    lines = printed_block(output, ZONE_TASK)
    assert_records(lines, p_value)

    server = live.Nsd(tmp_path, live.free_port())
    try:
        server.serve(lines, 1)
        status, output = run_playbook(tmp_path, inventory(key_dir), "-e", "mailops_qmail_dns_check=true",
                                      "-e", "mailops_qmail_dns_nameserver=127.0.0.1",
                                      "-e", "mailops_qmail_dns_port=%d" % server.port)
        assert status == 0, output
        report = printed_block(output, STATUS_TASK)
        assert [line.split()[:3] for line in report] == [["present"] + line.split()[0:4:3] for line in lines]

        server.serve([line for line in lines if "._domainkey." not in line], 2)
        status, output = run_playbook(tmp_path, inventory(key_dir), "-e", "mailops_qmail_dns_check=true",
                                      "-e", "mailops_qmail_dns_nameserver=127.0.0.1",
                                      "-e", "mailops_qmail_dns_port=%d" % server.port)
        assert status == 0, output
        statuses = dict((line.split()[1], line.split()[0]) for line in printed_block(output, STATUS_TASK))
        assert statuses.pop("%s._domainkey.%s." % (SELECTOR, DOMAIN)) == "missing"
        assert set(statuses.values()) == {"present"}
    finally:
        server.stop()
