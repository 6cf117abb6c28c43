# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import health

SVSTAT = """/etc/service/qmail-send: up (pid 123) 45 seconds
/etc/service/qmail-smtpd: down 3 seconds, normally up, want up
/etc/service/qmail-pop3d: down 60 seconds
"""


def test_parse_svstat_reads_state_pid_seconds_and_flags():
    parsed = health.parse_svstat(SVSTAT)
    assert parsed["/etc/service/qmail-send"] == {
        "state": "up", "pid": 123, "seconds": 45,
        "normally_down": False, "normally_up": False, "wants_up": False}
    assert parsed["/etc/service/qmail-smtpd"]["wants_up"] is True
    assert parsed["/etc/service/qmail-smtpd"]["normally_up"] is True
    assert parsed["/etc/service/qmail-pop3d"]["pid"] is None


def test_parse_svstat_ignores_error_lines():
    assert health.parse_svstat("svstat: warning: unable to open x/supervise/ok: file does not exist\n") == {}


PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:006E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:0019 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""


def test_listening_ports_only_counts_listen_state_and_dedups():
    assert health.listening_tcp_ports([PROC_TCP, PROC_TCP]) == [25, 110]


@pytest.fixture
def scan_dir(tmp_path):
    for name in ("qmail-send", "qmail-smtpd"):
        service = tmp_path / "supervise" / name
        service.mkdir(parents=True)
        (tmp_path / "scan").mkdir(exist_ok=True)
        os.symlink(str(service), str(tmp_path / "scan" / name))
    (tmp_path / "supervise" / "qmail-smtpd" / "down").write_text("qmail binaries are not installed\n")
    return tmp_path / "scan"


def test_service_report_gives_down_reason_from_down_file(scan_dir):
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, "%s/qmail-send: up (pid 9) 5 seconds\n%s/qmail-smtpd: down 5 seconds\n" % (scan_dir, scan_dir), ""

    report = {s["name"]: s for s in health.service_report(str(scan_dir), run)}
    assert calls[0][0] == "svstat"
    assert report["qmail-send"]["state"] == "up" and report["qmail-send"]["reason"] is None
    assert report["qmail-smtpd"]["state"] == "down"
    assert report["qmail-smtpd"]["reason"] == "qmail binaries are not installed"


def test_service_report_says_when_svscan_does_not_answer(scan_dir):
    report = health.service_report(str(scan_dir), lambda argv: (111, "", "unable to open"))
    assert all(s["state"] == "unknown" for s in report)
    send = [s for s in report if s["name"] == "qmail-send"][0]
    assert "svscan" in send["reason"]


def test_certificate_report_parses_openssl_output(tmp_path):
    cert = tmp_path / "servercert.pem"
    cert.write_text("x")
    out = "subject=CN = mail.example.org\nnotAfter=Nov 25 08:00:00 2027 GMT\n"
    report = health.certificate_report(str(cert), lambda argv: (0, out, ""))
    assert report == {"path": str(cert), "subject": "CN = mail.example.org",
                      "not_after": "Nov 25 08:00:00 2027 GMT"}
    assert health.certificate_report(str(tmp_path / "absent.pem"), None) is None


def test_render_names_the_three_ways_to_supply_qmail_when_missing(tmp_path):
    report = health.collect(str(tmp_path / "no-scan"), str(tmp_path), str(tmp_path / "none.pem"),
                            run=None, proc_net=())
    text = health.render(report)
    assert "qmail binaries: NOT available" in text
    assert "MAILOPS_QMAIL_IMAGE" in text and "qmail_package_path" in text and "existing" in text
    assert "certificate: none installed" in text


def test_render_reports_present_binaries_without_hints(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("qmail-send", "qmail-smtpd", "qmail-inject", "sendmail"):
        path = bin_dir / name
        path.write_text("#")
        path.chmod(0o755)
    report = health.collect(str(tmp_path / "no-scan"), str(tmp_path), str(tmp_path / "none.pem"),
                            run=None, proc_net=())
    assert report["qmail"]["binaries_present"] is True
    assert "supply qmail" not in health.render(report)
