"""The domain scenario (issue 14): what DNS, an ACME CA and a receiving mail server make of the
domains mx1 and mx2 serve. ns answers DNS for example.test and other.test with the lines
mailops.qmail.dns_records printed (publish.yml) and runs pebble; every check here is made by
somebody else's program: openssl, dnspython through the records check, dkimpy's dkimverify,
OpenDKIM's opendkim-testmsg, swaks."""
import base64
import re
import shlex
import time

import pytest

from conftest import converge_recap, platform, python_in, requires_qmail, run_playbook, sh

SIGNER = "/usr/local/lib/mailops-qmail/qmail-dkim-sign"
SIGNER_CONFIG = "/var/qmail/control/dkim/signer.json"
CERT = "/etc/ssl/qmail/server.crt"
PEBBLE_ROOT = "/etc/ssl/pebble-root.pem"
NAMES = {"mx1": ["mx1.example.test", "smtp.example.test"], "mx2": ["mx2.other.test"]}


ns = platform("ns")
mx1 = platform("mx1")
mx2 = platform("mx2")


# --- ACME: certificates from pebble ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_certificate_chains_to_pebbles_root_and_names_the_hosts_names(hosts, name):
    host = hosts[name]
    out = sh(host, "awk '/BEGIN CERT/{n++} n>=2' %s > /tmp/intermediates.pem && "
                   "openssl verify -CAfile %s -untrusted /tmp/intermediates.pem %s" % (CERT, PEBBLE_ROOT, CERT))
    assert out.strip().endswith(": OK"), out
    san = sh(host, "openssl x509 -in %s -noout -ext subjectAltName" % CERT)
    assert sorted(re.findall(r"DNS:([^,\s]+)", san)) == sorted(NAMES[name]), san


@pytest.mark.parametrize("name", sorted(NAMES))
def test_qmail_gets_the_acme_key_and_chain(hosts, name):
    host = hosts[name]
    servercert = host.file("/var/qmail/control/servercert.pem")
    assert (servercert.user, servercert.mode) == ("root", 0o640)
    content = servercert.content_string
    assert "PRIVATE KEY" in content and content.count("BEGIN CERTIFICATE") >= 2
    same = host.run("bash -c 'cmp <(openssl pkey -in /var/qmail/control/servercert.pem -pubout) "
                    "<(openssl x509 -in /var/qmail/control/servercert.pem -noout -pubkey)'")
    assert same.rc == 0, same.stdout + same.stderr


def issued(ns):
    """(how many certificates pebble has issued, its log)."""
    log = sh(ns, "journalctl -u scenario-acme --no-pager -o cat")
    return len(re.findall(r"Issued certificate serial", log)), log[-3000:]


def test_pebble_issued_one_certificate_per_host_and_the_idempotence_run_ordered_none(ns):
    count, log = issued(ns)
    assert count == len(NAMES), log


def test_check_mode_after_converge_orders_nothing_and_reports_no_changes(ns):
    recap = converge_recap("--check", "--diff")[0]
    assert {host: counts["changed"] for host, counts in recap.items()} == {"mx1": 0, "mx2": 0}, recap
    count, log = issued(ns)
    assert count == len(NAMES), log


def test_no_http01_responder_is_left_running(mx1, mx2):
    for host in (mx1, mx2):
        assert not host.socket("tcp://0.0.0.0:80").is_listening


# --- implicit TLS on 465 -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smtps_listener(mx2):
    """mx2's qmail-smtpsd listening on 465: the supervised service, or without qmail (where the
    role leaves the service down) its own run script started by hand: tcpserver, then stunnel."""
    started = not mx2.socket("tcp://0.0.0.0:465").is_listening
    if started:
        sh(mx2, "cd /etc/service/qmail-smtpsd && (setsid ./run > /tmp/smtpsd.out 2>&1 < /dev/null &)")
        for _attempt in range(20):
            if mx2.socket("tcp://0.0.0.0:465").is_listening:
                break
            time.sleep(0.5)
    yield
    if started:
        mx2.run("pkill -f 'tcpserver.* 465 '")


def test_port_465_speaks_tls_first_with_the_acme_certificate(mx1, smtps_listener):
    """stunnel on mx2 answers TLS before any SMTP byte; mx1 verifies the chain against pebble's root
    and the name it dials through ns."""
    out = mx1.run("openssl s_client -connect mx2.other.test:465 -servername mx2.other.test "
                  "-verify_hostname mx2.other.test -CAfile %s -verify_return_error </dev/null" % PEBBLE_ROOT)
    assert "Verify return code: 0 (ok)" in out.stdout, out.stdout + out.stderr


# --- the records ns serves -------------------------------------------------------------------------

def test_the_records_check_finds_every_printed_record_present_at_ns(ns):
    address = ns.interface("eth0").addresses[0]
    result = run_playbook("publish.yml", "-e", '{"mailops_qmail_dns_check": true, "mailops_qmail_dns_nameserver": "%s"}'
                          % address)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # The last task prints one line per record: STATUS NAME TYPE VALUE.
    status = re.findall(r"^\s+(present|missing|different|error) (\S+) (\S+) ", result.stdout, re.M)
    seen = {(name, kind) for _state, name, kind in status}
    expected = {("example.test", "MX"), ("example.test", "TXT"), ("s2026._domainkey.example.test", "TXT"),
                ("e2026._domainkey.example.test", "TXT"), ("_dmarc.example.test", "TXT"),
                ("_smtp._tls.example.test", "TXT"), ("other.test", "MX"), ("other.test", "TXT"),
                ("_dmarc.other.test", "TXT")}
    assert {(n.rstrip("."), k) for n, k in seen} == expected, result.stdout[-4000:]
    assert {state for state, _n, _k in status} == {"present"}, result.stdout[-4000:]
    assert re.search(r"changed=0\s+unreachable=0\s+failed=0", result.stdout)


def test_spf_names_the_sending_hosts_address(mx1, mx2):
    spf = python_in(mx2, """
        import dns.resolver
        print([b"".join(r.strings).decode() for r in dns.resolver.resolve("example.test", "TXT")])
    """)
    address = mx1.interface("eth0").addresses[0]
    assert "v=spf1 ip4:%s -all" % address in spf, spf


# --- DKIM: signed at mx1, verified at mx2 against ns -----------------------------------------------

def sign_at_mx1(mx1, subject):
    """The message as mx1's signer hands it on, run as qmail-smtpd runs it (as qmaild, message on
    fd 0, envelope on fd 1), with a next program that keeps the signed message instead of queueing."""
    python_in(mx1, """
        import json, os
        with open("/tmp/keep", "w") as keep:
            keep.write("#!/bin/sh\\ncat > /tmp/signed.eml\\n")
        os.chmod("/tmp/keep", 0o755)
        config = json.load(open(%r))
        config["queue_program"] = "/tmp/keep"
        json.dump(config, open("/tmp/signer-test.json", "w"))
    """ % SIGNER_CONFIG)
    message = ("From: alice@example.test\nTo: bob@other.test\nSubject: %s\nDate: Wed, 2 Dec 2026 12:00:00 +0000\n"
               "Message-ID: <%s@mx1.example.test>\n\nsigned at mx1, verified at mx2\n" % (subject, subject))
    out = python_in(mx1, """
        import os, subprocess
        r, w = os.pipe()
        os.write(w, b"Falice@example.test\\0Tbob@other.test\\0\\0"); os.close(w)
        p = subprocess.run(["setpriv", "--reuid=qmaild", "--regid=nofiles", "--clear-groups", "python3", %r,
                            "/tmp/signer-test.json"], input=%r.encode(), stdout=r, stderr=subprocess.PIPE)
        print(p.returncode, p.stderr.decode().strip())
    """ % (SIGNER, message))
    assert out.startswith("0"), out
    return mx1.file("/tmp/signed.eml").content


@pytest.fixture(scope="module")
def signed_at_mx2(mx1, mx2):
    """Path on mx2 of a message mx1's signer signed (without qmail: copied over)."""
    signed = sign_at_mx1(mx1, "dkim-by-hand")
    sh(mx2, "echo %s | base64 -d > /tmp/from-mx1.eml" % base64.b64encode(signed).decode())
    return "/tmp/from-mx1.eml"


def test_mx1_signs_with_both_selectors(mx2, signed_at_mx2):
    message = mx2.file(signed_at_mx2).content_string
    selectors = sorted(re.findall(r"^DKIM-Signature:.*?\bs=(\w+);", message, re.M | re.S))
    assert selectors == ["e2026", "s2026"], message[:2000]


def test_dkimverify_at_mx2_verifies_against_ns(mx2, signed_at_mx2):
    out = mx2.run("dkimverify < %s" % signed_at_mx2)
    assert out.rc == 0 and "signature ok" in out.stdout, out.stdout + out.stderr


def test_opendkim_testmsg_at_mx2_verifies_against_ns(mx2, signed_at_mx2):
    out = mx2.run("opendkim-testmsg < %s" % signed_at_mx2)
    assert out.rc == 0, out.stdout + out.stderr


def test_a_changed_body_fails_both_verifiers(mx2, signed_at_mx2):
    sh(mx2, "sed 's/verified at mx2/changed in transit/' %s > /tmp/tampered.eml" % signed_at_mx2)
    assert "signature ok" not in mx2.run("dkimverify < /tmp/tampered.eml").stdout
    assert mx2.run("opendkim-testmsg < /tmp/tampered.eml").rc != 0


# --- end to end with qmail: mx1 -> qmail-remote -> DNS -> mx2 --------------------------------------

def delivered(mx2, subject):
    for _attempt in range(60):
        found = mx2.run("grep -l -r %s /home/bob/Maildir/new" % shlex.quote("Subject: " + subject))
        if found.rc == 0:
            return found.stdout.split()[0]
        time.sleep(1)
    log = mx2.run("tail -n 30 /var/log/qmail/qmail-send/current").stdout
    raise AssertionError("%s never reached bob on mx2; mx2's qmail-send log:\n%s" % (subject, log))


@requires_qmail
def test_mail_from_mx1_reaches_mx2_through_dns_and_verifies_there(mx1, mx2):
    out = mx1.run("swaks --server 127.0.0.1 --port 25 --helo mx1.example.test --from alice@example.test "
                  "--to bob@other.test --header 'Subject: dkim-across' --body 'signed at mx1'")
    assert out.rc == 0, out.stdout + out.stderr
    path = delivered(mx2, "dkim-across")
    message = mx2.file(path).content_string
    # qmail-remote (greeting as mx1's control/me) found mx2 by other.test's MX at ns.
    received = re.search(r"^Received: from .*?\n(?:\s.*\n)*", message, re.M).group(0)
    assert "HELO mx1.example.test" in received and "by mx2.other.test" in received, message[:3000]
    assert "DKIM-Signature:" in message
    assert "signature ok" in sh(mx2, "dkimverify < %s" % path)
    assert mx2.run("opendkim-testmsg < %s" % path).rc == 0


@requires_qmail
@pytest.mark.parametrize("password, relayed", [("bob-auth-secret", True), ("wrong-password", False)])
def test_swaks_on_465_through_stunnel_requires_auth(mx1, smtps_listener, password, relayed):
    out = mx1.run("swaks --server mx2.other.test --port 465 --tlsc --helo mx1.example.test --auth LOGIN "
                  "--auth-user bob@other.test --auth-password %s --from bob@other.test "
                  "--to someone@elsewhere.example --quit-after RCPT" % password)
    assert "=== TLS started with cipher" in out.stdout, out.stdout
    if relayed:
        assert out.rc == 0 and re.search(r"^<~  235 ", out.stdout, re.M), out.stdout + out.stderr
    else:
        assert out.rc != 0 and re.search(r"^<~\* 535 ", out.stdout, re.M), out.stdout + out.stderr
