"""mailops.qmail.dns_records with check: true against a real DNS server: Debian's nsd serves a zone
made from the module's own zone output; the module, run by ansible-playbook, must find every record
present, then report the record changed in the zone as different and the record removed as missing.

Skipped, saying why, when nsd (Debian package nsd) or dnspython is not installed.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

NSD = shutil.which("nsd") or ("/usr/sbin/nsd" if os.access("/usr/sbin/nsd", os.X_OK) else None)
pytestmark = pytest.mark.skipif(NSD is None, reason="nsd is not installed (apt-get install nsd)")
dns_resolver = pytest.importorskip("dns.resolver", reason="dnspython is not installed in this Python")

KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAbhwcpfOggyF6VitRxGRQDXNtsHY063TulihsuNNCLCM=
-----END PUBLIC KEY-----"""
DOMAIN = {
    "name": "example.test",
    "mx": [{"host": "mx1.example.test", "preference": 10}, {"host": "mx2.example.test", "preference": 20}],
    "spf": {"addresses": ["192.0.2.25", "2001:db8::25"], "include": ["_spf.provider.example"]},
    "dkim": [{"selector": "s2026", "public_key": KEY}],
    "dmarc": {"policy": "quarantine", "rua": ["dmarc@example.test"]},
    "mta_sts": {"mode": "testing"},
    "tls_rpt": {"rua": ["tlsrpt@example.test"]},
}
HEAD = """$ORIGIN example.test.
@ 300 IN SOA ns1.example.test. hostmaster.example.test. {serial} 3600 600 86400 300
@ 300 IN NS ns1.example.test.
ns1 300 IN A 127.0.0.1
"""
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - mailops.qmail.dns_records:
        domains: {domains}
        check: {check}
        nameserver: 127.0.0.1
        port: {port}
        timeout: 2
      register: result
    - ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: {out}
        mode: "0600"
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_module(tmp_path, check, port):
    out = tmp_path / ("result-%s.json" % time.monotonic_ns())
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(domains=json.dumps([DOMAIN]), check=str(check).lower(),
                                        port=port, out=out))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


class Nsd:
    """nsd in the foreground on 127.0.0.1:port, serving one zone file, restarted to reload it."""

    def __init__(self, directory, port):
        self.directory, self.port, self.process = directory, port, None
        self.zonefile = directory / "example.test.zone"
        (directory / "nsd.conf").write_text(
            "server:\n  ip-address: 127.0.0.1\n  port: %d\n  username: \"\"\n  chroot: \"\"\n"
            "  zonesdir: \"%s\"\n  database: \"\"\n  zonelistfile: \"%s/zone.list\"\n"
            "  xfrdfile: \"%s/xfrd.state\"\n  pidfile: \"%s/nsd.pid\"\n  logfile: \"%s/nsd.log\"\n"
            "  server-count: 1\n  verbosity: 1\n"
            "remote-control:\n  control-enable: no\n"
            "zone:\n  name: example.test\n  zonefile: example.test.zone\n"
            % (port, directory, directory, directory, directory, directory))

    def serve(self, zone_lines, serial):
        self.stop()
        self.zonefile.write_text(HEAD.format(serial=serial) + "".join(line + "\n" for line in zone_lines))
        self.process = subprocess.Popen([NSD, "-d", "-c", str(self.directory / "nsd.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        resolver = dns_resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], self.port, 0.5
        deadline = time.monotonic() + 20
        while True:
            try:
                if resolver.resolve("example.test.", "SOA")[0].serial == serial:
                    return
            except Exception:  # pylint: disable=broad-except  # not serving yet
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = self.directory / "nsd.log"
                    raise AssertionError("nsd did not serve the zone: %s" % (log.read_text() if log.exists() else ""))
            time.sleep(0.1)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def nsd(tmp_path):
    server = Nsd(tmp_path, free_port())
    yield server
    server.stop()


def test_check_reports_present_then_different_then_missing(tmp_path, nsd):
    computed = run_module(tmp_path, False, nsd.port)
    lines = computed["zone"].splitlines()
    assert computed["changed"] is False and len(lines) == 7

    nsd.serve(lines, 1)
    published = run_module(tmp_path, True, nsd.port)
    assert published["all_present"] is True
    assert [r["status"] for r in published["records"]] == ["present"] * 7

    changed = [line.replace("p=quarantine", "p=none") for line in lines]
    without_dkim = [line for line in changed if "._domainkey." not in line]
    assert changed != lines and len(without_dkim) == 6
    nsd.serve(without_dkim, 2)
    checked = run_module(tmp_path, True, nsd.port)
    status = dict((r["kind"], (r["status"], r["found"])) for r in checked["records"])
    assert checked["all_present"] is False
    assert status["dmarc"] == ("different", ["v=DMARC1; p=none; rua=mailto:dmarc@example.test"])
    assert status["dkim"] == ("missing", [])
    assert [kind for kind, seen in status.items() if seen[0] == "present"] == ["mx", "spf", "mta_sts", "tls_rpt"]
