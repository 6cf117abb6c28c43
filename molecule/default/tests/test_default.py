"""The default scenario: exim4 swapped for qmail on Debian 12 with systemd as PID 1.

Without MAILOPS_QMAIL_IMAGE the host has no qmail binaries: configuration is staged, qmail-send
is declared but down, and exim4 is still removed (mta_swap_require_qmail is false there). With a
qmail image, qmail-send must run and deliver.
"""
import json
import os
import time

import pytest
from conftest import QMAIL_IMAGE, converge_recap, failed_run_output, requires_qmail

SCAN = "/etc/service/qmail-send"
SERVICE_DIR = "/var/qmail/supervise/qmail-send"


def wait_for(host, command, expect, timeout=15):
    """Run command until its stdout contains expect (svscan looks every 5 s); return the output."""
    deadline = time.time() + timeout
    while True:
        out = host.run(command).stdout
        if expect in out or time.time() > deadline:
            return out
        time.sleep(0.5)


def fqdn(host):
    return host.check_output("python3 -c 'import socket; print(socket.getfqdn())'")


# ---- mta_swap -------------------------------------------------------------------------------
@pytest.mark.parametrize("package", ["exim4-base", "exim4-daemon-light", "exim4-config"])
def test_exim_is_removed(host, package):
    assert not host.package(package).is_installed


def test_message_queued_in_exim_was_delivered_not_lost(host):
    if QMAIL_IMAGE:
        pytest.skip("with qmail the queue is handed to qmail: see test_exim_queue_was_handed_to_qmail")
    mbox = host.file("/var/mail/mailtest")
    assert mbox.exists
    assert "Subject: queued before the swap" in mbox.content_string
    assert "This message must survive the MTA swap." in mbox.content_string


@requires_qmail
def test_exim_queue_was_handed_to_qmail_with_its_envelopes(host):
    # The bounce (null sender) is delivered by qmail to the maildir; the remote message went to
    # qmail-remote with its own sender, instead of being bounced by exim's flush; exim's queue is empty.
    delivered = host.check_output("cat /home/mailtest/Maildir/new/* /home/mailtest/Maildir/cur/* 2>/dev/null || true")
    assert "Subject: queued bounce" in delivered and "Return-Path: <>" in delivered
    log = host.check_output("cat /var/log/qmail/qmail-send/current")
    assert "from <sender@mailops-default.example.test>" in log and "to remote someone@remote.invalid" in log, log
    assert host.check_output("ls /var/spool/exim4/input | wc -l").strip() == "0"


def test_exim_no_longer_runs(host):
    comms = host.check_output("cat /proc/[0-9]*/comm 2>/dev/null || true").split()
    assert "exim4" not in comms


@requires_qmail
@pytest.mark.parametrize("link", ["/usr/sbin/sendmail", "/usr/lib/sendmail"])
def test_sendmail_is_qmails(host, link):
    assert host.file(link).is_symlink
    assert host.file(link).linked_to == "/var/qmail/bin/sendmail"


# ---- qmail users ----------------------------------------------------------------------------
@pytest.mark.skipif(bool(QMAIL_IMAGE), reason="prepare pre-creates accounts only on the image without qmail")
def test_existing_ids_are_kept_and_missing_accounts_get_defaults(host):
    assert host.group("nofiles").gid == 2500
    assert host.user("qmaild").uid == 2501
    assert host.user("qmaill").uid == 202
    assert host.user("qmaill").group == "nofiles"
    assert host.group("qmail").gid == 201
    assert host.user("alias").home == "/var/qmail/alias"


@pytest.mark.parametrize("user, group", [("alias", "nofiles"), ("qmaild", "nofiles"), ("qmaill", "nofiles"),
                                         ("qmailp", "nofiles"), ("qmailq", "qmail"), ("qmailr", "qmail"),
                                         ("qmails", "qmail")])
def test_qmail_accounts_exist(host, user, group):
    assert host.user(user).exists
    assert host.user(user).group == group


# ---- daemontools ----------------------------------------------------------------------------
def test_svscan_starts_at_boot_and_runs(host):
    unit = host.service("daemontools-run")
    assert unit.is_enabled
    assert unit.is_running
    assert "svscan" in host.check_output("cat /proc/[0-9]*/comm 2>/dev/null || true").split()


@pytest.mark.parametrize("tool", ["svscan", "supervise", "multilog", "tcpserver", "tcprules"])
def test_daemontools_and_ucspi_tcp_are_installed(host, tool):
    assert host.exists(tool)


# ---- the qmail-send service ------------------------------------------------------------------
def test_qmail_send_is_linked_into_the_scan_dir(host):
    assert host.file(SCAN).is_symlink
    assert host.file(SCAN).linked_to == SERVICE_DIR


def test_qmail_send_run_script(host):
    run = host.file(SERVICE_DIR + "/run")
    assert run.content_string == "#!/bin/sh\nexec /var/qmail/rc\n"
    assert (run.user, run.group, run.mode) == ("root", "root", 0o755)


def test_qmail_send_logs_with_multilog_as_qmaill(host):
    run = host.file(SERVICE_DIR + "/log/run")
    assert run.content_string == (
        "#!/bin/sh\nexec setuidgid qmaill multilog t s2500000 n10 /var/log/qmail/qmail-send\n")
    assert run.mode == 0o755
    logdir = host.file("/var/log/qmail/qmail-send")
    assert (logdir.user, logdir.group, logdir.mode) == ("qmaill", "nofiles", 0o750)
    assert "up (pid" in wait_for(host, "svstat %s/log" % SCAN, "up (pid")
    assert host.file("/var/log/qmail/qmail-send/current").user == "qmaill"


@pytest.mark.skipif(bool(QMAIL_IMAGE), reason="with qmail installed the service is up")
def test_without_qmail_the_service_is_declared_but_down(host):
    assert host.file(SERVICE_DIR + "/down").exists
    # The down file says why, for the next administrator and for mailops.qmail.health.
    reason = host.file(SERVICE_DIR + "/down").content_string
    assert reason.startswith("qmail is not installed: ") and "qmail_install_method=" in reason
    assert ": down" in wait_for(host, "svstat " + SCAN, ": down")


def test_rc_runs_qmail_start_with_default_delivery(host):
    rc = host.file("/var/qmail/rc")
    assert rc.mode == 0o755
    assert "qmail-start \"`grep -v '^#' /var/qmail/control/defaultdelivery`\"" in rc.content_string
    assert rc.content_string.startswith("#!/bin/sh\n")


def test_default_delivery_is_lwq_maildir(host):
    lines = [line for line in host.file("/var/qmail/control/defaultdelivery").content_string.splitlines()
             if not line.startswith("#")]
    assert lines == ["./Maildir/"]


# ---- control files, aliases, maildirs --------------------------------------------------------
@pytest.mark.parametrize("name", ["me", "defaultdomain", "plusdomain", "locals", "rcpthosts"])
def test_control_files_carry_the_host_name(host, name):
    control = host.file("/var/qmail/control/" + name)
    assert control.content_string == fqdn(host) + "\n"
    assert (control.user, control.mode) == ("root", 0o644)


@pytest.mark.parametrize("alias", [".qmail-root", ".qmail-postmaster", ".qmail-mailer-daemon"])
def test_aliases_exist_and_deliver_to_alias(host, alias):
    f = host.file("/var/qmail/alias/" + alias)
    assert f.exists and f.content_string == ""
    assert f.mode == 0o644
    assert host.file("/var/qmail/alias/Maildir/new").is_directory


@pytest.mark.parametrize("path, owner", [("/home/mailtest/Maildir", "mailtest"), ("/etc/skel/Maildir", "root")])
def test_maildirs(host, path, owner):
    for sub in ("", "/cur", "/new", "/tmp"):
        d = host.file(path + sub)
        assert d.is_directory, path + sub
        assert (d.user, d.mode) == (owner, 0o700)


def test_qmailctl_offers_the_lwq_commands(host):
    ctl = host.file("/var/qmail/bin/qmailctl")
    assert ctl.mode == 0o755
    usage = host.run("/var/qmail/bin/qmailctl nonsense")
    assert usage.rc == 1
    for command in ("start", "stop", "restart", "doqueue", "reload", "stat", "pause", "cont", "cdb", "queue", "report", "help"):
        assert command in usage.stdout
    assert "reload -- sends qmail-send HUP" in host.check_output("/var/qmail/bin/qmailctl help")


# ---- idempotence and check mode --------------------------------------------------------------
def test_check_mode_reports_no_changes():
    recap, output = converge_recap("--check")
    assert all(counts["changed"] == 0 for counts in recap.values()), output[-3000:]


def test_a_rerun_with_nothing_to_do_ends_after_the_check():
    recap, output = converge_recap("-e", "mailops_qmail_fast_rerun=true")
    for counts in recap.values():
        assert counts["changed"] == 0 and counts["ok"] + counts["skipped"] <= 40, output[-3000:]
    assert "TASK [mailops.qmail.send" not in output


# ---- with real qmail -------------------------------------------------------------------------
@requires_qmail
def test_qmail_send_is_up_under_supervise(host):
    assert not host.file(SERVICE_DIR + "/down").exists
    assert "up (pid" in wait_for(host, "svstat " + SCAN, "up (pid")
    assert "qmail-send" in host.check_output("cat /proc/[0-9]*/comm 2>/dev/null || true").split()


@requires_qmail
def test_qmail_inject_delivers_to_a_local_maildir(host):
    wait_for(host, "svstat " + SCAN, "up (pid")
    subject = "delivered by qmail %d" % os.getpid()
    host.check_output("printf 'To: mailtest\\nSubject: %s\\n\\nhello\\n' | /var/qmail/bin/qmail-inject" % subject)
    found = wait_for(host, "grep -l '%s' /home/mailtest/Maildir/new/* 2>/dev/null" % subject, "/home/mailtest/", 20)
    assert found.startswith("/home/mailtest/Maildir/new/"), host.run("tail -20 /var/log/qmail/qmail-send/current").stdout
    message = host.file(found.split()[0])
    assert message.user == "mailtest"


def test_qmailctl_report_reads_the_service_logs(host):
    out = host.run("/var/qmail/bin/qmailctl report --top 3")
    assert out.rc == 0 and out.stdout.startswith("qmail logs"), out.stdout + out.stderr
    bad = host.run("/var/qmail/bin/qmailctl report --since yesterday")
    assert bad.rc == 2 and "--since: 'yesterday' is not a time" in bad.stderr


@requires_qmail
def test_qmailctl_report_counts_the_mail_qmail_delivered(host):
    subject = "counted by the report %d" % os.getpid()
    host.check_output("printf 'To: mailtest\\nSubject: %s\\n\\nhello\\n' | /var/qmail/bin/qmail-inject" % subject)
    wait_for(host, "grep -l '%s' /home/mailtest/Maildir/new/* 2>/dev/null" % subject, "/home/mailtest/", 20)
    report = json.loads(host.check_output("/var/qmail/bin/qmailctl report --json /var/log/qmail/qmail-send"))
    assert report["messages"]["received"] >= 1 and report["messages"]["bytes"] > 0, report["messages"]
    assert report["deliveries"]["by_channel"]["local"]["success"] >= 1, report["deliveries"]
    assert report["top_recipients"], report


@requires_qmail
def test_qmailctl_stat_reports_qmail_send(host):
    wait_for(host, "svstat " + SCAN, "up (pid")
    out = host.check_output("/var/qmail/bin/qmailctl stat")
    assert SCAN + ": up (pid" in out
    assert SCAN + "/log: up (pid" in out
    assert "messages in queue: " in out


# ---- the reload matrix, seen from a running qmail-send ---------------------------------------
def send_pid(host):
    out = wait_for(host, "svstat " + SCAN, "up (pid")
    return int(out.split("(pid ")[1].split(")")[0])


@requires_qmail
def test_changed_locals_hup_qmail_send_without_restarting_it(host):
    before = send_pid(host)
    recap, output = converge_recap("-e", json.dumps({"send_control_files": {"locals": [fqdn(host), "hup.example.test"]}}))
    assert all(counts["changed"] >= 1 for counts in recap.values()), output[-3000:]
    assert "RUNNING HANDLER [mailops.qmail.send : Reload qmail-send]" in output
    assert send_pid(host) == before
    # qmail-send only treats hup.example.test as local once the HUP made it reread locals.
    subject = "after the hup %d" % os.getpid()
    host.check_output("printf 'To: mailtest@hup.example.test\\nSubject: %s\\n\\nhi\\n' | /var/qmail/bin/qmail-inject" % subject)
    found = wait_for(host, "grep -l '%s' /home/mailtest/Maildir/new/* 2>/dev/null" % subject, "/home/mailtest/", 20)
    assert found.startswith("/home/mailtest/Maildir/new/"), host.run("tail -8 /var/log/qmail/qmail-send/current").stdout


@requires_qmail
def test_changed_queuelifetime_restarts_qmail_send(host):
    before = send_pid(host)
    recap, output = converge_recap("-e", json.dumps({"send_control_files": {
        "locals": [fqdn(host), "hup.example.test"], "queuelifetime": 86400}}))
    assert "RUNNING HANDLER [mailops.qmail.send : Restart qmail-send]" in output
    assert host.file("/var/qmail/control/queuelifetime").content_string == "86400\n"
    deadline = time.time() + 10
    while send_pid(host) == before and time.time() < deadline:
        time.sleep(0.5)
    assert send_pid(host) != before


@requires_qmail
def test_a_flavour_the_binaries_contradict_stops_the_run():
    wrong, right = ("notqmail", "sagredo") if "sagredo" in QMAIL_IMAGE else ("sagredo", "notqmail")
    output = failed_run_output("flavour_mismatch.yml", "-e", "qmail_flavour=" + wrong)
    assert "qmail_flavour=%s disagrees with the binaries" % wrong in output
    assert "they match: %s." % right in output
