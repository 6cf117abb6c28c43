# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import _io, health
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.modules import health as health_module
from ansible_collections.mailops.qmail.tests.unit.plugins.modules.module_runner import run_module

PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:006E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:0019 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""


def test_listening_ports_only_counts_listen_state_and_dedups():
    assert health.listening_tcp_ports([PROC_TCP, PROC_TCP]) == [25, 110]


def test_listening_ports_skip_lines_that_are_not_proc_net_tcp():
    assert health.listening_tcp_ports(["header\n 0: 00000000:ZZ19 0 0A\n 1: x 0 0A\n"]) == []


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
    report = health.service_report(str(scan_dir), lambda argv: (111, "", ""))
    assert all(s["state"] == "unknown" for s in report)
    send = [s for s in report if s["name"] == "qmail-send"][0]
    assert send["reason"] == "svstat could not read its status (no answer): is svscan running?"


def test_service_report_passes_on_what_svstat_says_of_an_unsupervised_service(scan_dir):
    report = health.service_report(str(scan_dir), lambda argv: (
        0, "%s/qmail-send: supervise not running\n" % scan_dir, ""))
    send = [s for s in report if s["name"] == "qmail-send"][0]
    assert send["state"] == "unknown" and send["seconds"] is None
    assert send["reason"] == "svstat could not read its status (supervise not running): is svscan running?"


def test_down_file_that_is_not_utf8_is_read_with_replacement(scan_dir):
    (scan_dir / "qmail-smtpd" / "down").write_bytes(b"caf\xe9 closed\n")
    report = health.service_report(str(scan_dir), lambda argv: (0, "", ""))
    assert [s["reason"] for s in report if s["name"] == "qmail-smtpd"] == ["caf\ufffd closed"]


def test_unreadable_scan_dir_reports_no_services(tmp_path):
    (tmp_path / "file").write_text("x")
    assert health.service_report(str(tmp_path / "file"), None) == []


@pytest.mark.parametrize("value", ["relative", "/a\x00b", "/a\ud800b"])
def test_check_paths_names_the_field(value):
    with pytest.raises(_io.FileWriteError, match="^scan_dir: "):
        health.check_paths(scan_dir=value, qmail_home="/var/qmail")


def test_certificate_report_parses_openssl_output(tmp_path):
    cert = tmp_path / "servercert.pem"
    cert.write_text("x")
    out = "subject=CN = mail.example.org\nissuer=C = US, O = Let's Encrypt, CN = R11\nnotAfter=Nov 25 08:00:00 2027 GMT\n"
    now = datetime.datetime(2027, 11, 20, 9, 0, tzinfo=datetime.timezone.utc)
    report = health.certificate_report(str(cert), lambda argv: (0, out, ""), now)
    assert report == {"path": str(cert), "subject": "CN = mail.example.org", "subject_cn": "mail.example.org",
                      "issuer": "C = US, O = Let's Encrypt, CN = R11", "issuer_cn": "R11",
                      "not_after": "Nov 25 08:00:00 2027 GMT", "days_left": 4}
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


@pytest.mark.parametrize("args, field", [
    (dict(scan_dir="/srv/\ud800"), "scan_dir: "),
    (dict(qmail_home="/var/q\x00mail"), "qmail_home: "),
    (dict(certificate="/etc/\udc80\ud800.pem"), "certificate: "),
])
def test_module_refuses_paths_by_name_without_a_traceback(capsys, tmp_path, args, field):
    args.setdefault("scan_dir", str(tmp_path))
    result = run_module(health_module.main, capsys, owner=None, group=None, **args)
    assert result["failed"] is True and "exception" not in result, result
    assert result["msg"].startswith(field)


def test_module_reports(capsys, tmp_path):
    result = run_module(health_module.main, capsys, owner=None, group=None, scan_dir=str(tmp_path),
                        qmail_home=str(tmp_path))
    assert result["changed"] is False and result["report"]["services"] == []
    assert "qmail binaries: NOT available" in result["text"]


def test_module_reports_missing_programs_instead_of_failing(capsys, scan_dir, monkeypatch):
    monkeypatch.setattr(QmailModule, "get_bin_path", lambda self, name, **kwargs: None)
    (scan_dir.parent / "servercert.pem").write_text("x")
    result = run_module(health_module.main, capsys, owner=None, group=None, scan_dir=str(scan_dir),
                        qmail_home=str(scan_dir.parent), certificate=str(scan_dir.parent / "servercert.pem"))
    send = [s for s in result["report"]["services"] if s["name"] == "qmail-send"][0]
    assert send["state"] == "unknown" and "svstat is not installed" in send["reason"]
    assert result["report"]["certificate"]["error"] == "openssl is not installed"


def test_recipient_check_is_reported_and_its_absence_called_backscatter(tmp_path):
    (tmp_path / "control").mkdir()
    report = health.recipient_report(str(tmp_path))
    assert report["backscatter_possible"] and report["checked_domains"] == []
    (tmp_path / "control" / "validrcptto").write_text("alice@example.org\npostmaster@example.org\n-@example.org\n")
    report = health.recipient_report(str(tmp_path))
    assert (report["backscatter_possible"], report["checked_domains"], report["addresses"]) == (False, ["example.org"], 2)
    # Listed addresses without any '-@domain' refuse nothing.
    (tmp_path / "control" / "validrcptto").write_text("alice@example.org\n")
    assert health.recipient_report(str(tmp_path))["backscatter_possible"]
