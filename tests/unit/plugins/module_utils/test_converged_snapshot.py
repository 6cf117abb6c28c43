# -*- coding: utf-8 -*-
"""The converged-state snapshot: every managed change is seen, mail and runtime state are not."""

from __future__ import absolute_import, division, print_function

import os

import pytest

from ansible_collections.mailops.qmail.plugins.module_utils import converged


def no_commands(argv):
    return 127, "", "%s is not installed" % argv[0]


@pytest.fixture
def tree(tmp_path):
    control = tmp_path / "qmail" / "control"
    control.mkdir(parents=True)
    (control / "me").write_text("mx.example.org\n")
    maildir = tmp_path / "qmail" / "alias" / "Maildir"
    for part in ("cur", "new", "tmp"):
        (maildir / part).mkdir(parents=True)
    service = tmp_path / "qmail" / "supervise" / "qmail-send"
    (service / "supervise").mkdir(parents=True)
    (service / "run").write_text("#!/bin/sh\n")
    (service / "log" / "main").mkdir(parents=True)
    (tmp_path / "qmail" / "queue").mkdir()
    return tmp_path


def spec(tree):
    root = str(tree / "qmail")
    return {"roots": [root], "exclude": [root + "/queue", "*/supervise/*/supervise", "*/log/main"]}


def state(tree):
    return converged.snapshot(spec(tree), no_commands)


def test_an_unchanged_host_is_converged_and_the_record_round_trips(tree):
    before = state(tree)
    recorded = converged.load(converged.record("digest", {}, before))
    assert converged.differences(recorded, "digest", state(tree), 0) == []


@pytest.mark.parametrize("change, reason", [
    (lambda t: (t / "qmail/control/me").write_text("other.example.org\n"), "control/me changed"),
    (lambda t: os.chmod(str(t / "qmail/control/me"), 0o600), "control/me changed"),
    (lambda t: (t / "qmail/control/me").unlink(), "control/me is gone"),
    (lambda t: (t / "qmail/control/locals").write_text("x\n"), "control/locals appeared"),
    (lambda t: os.rmdir(str(t / "qmail/alias/Maildir/new")), "Maildir/new is gone"),
    (lambda t: os.symlink("/nowhere", str(t / "qmail/control/link")), "control/link appeared"),
])
def test_every_change_to_a_managed_path_is_a_difference(tree, change, reason):
    recorded = converged.load(converged.record("digest", {}, state(tree)))
    change(tree)
    reasons = converged.differences(recorded, "digest", state(tree), 0)
    assert any(r.endswith(reason) for r in reasons), reasons


@pytest.mark.parametrize("path", [
    "qmail/alias/Maildir/new/1234.mx", "qmail/queue/mess", "qmail/supervise/qmail-send/supervise/status",
    "qmail/supervise/qmail-send/log/main/current",
])
def test_mail_queue_logs_and_supervise_state_are_not_compared(tree, path):
    recorded = converged.load(converged.record("digest", {}, state(tree)))
    target = tree / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("runtime\n")
    assert converged.differences(recorded, "digest", state(tree), 0) == []


def test_other_settings_a_missing_record_or_another_format_mean_a_complete_run(tree):
    current = state(tree)
    assert converged.differences(None, "d", current, 0) == ["no complete run has been recorded on this host"]
    assert "settings" in converged.differences(converged.load(converged.record("old", {}, current)), "new", current, 0)[0]
    assert converged.differences({"format": 0}, "d", current, 0) == ["the record is from another version of the collection"]
    assert converged.load(b"{not json") is None


def test_a_certificate_due_for_renewal_means_a_complete_run(tree):
    current = dict(state(tree), due=1000)
    recorded = converged.load(converged.record("d", {}, current))
    assert converged.differences(recorded, "d", current, 999) == []
    assert converged.differences(recorded, "d", current, 1000) == ["the certificate is due for renewal"]


def test_certificate_due_reads_openssl_end_date():
    def run(argv):
        return 0, "subject=CN = mx\nnotAfter=Jan  2 00:00:00 2027 GMT\n", ""
    due = converged.certificate_due(__file__, 1, run)
    assert due == 1798848000 - 86400


def test_a_service_going_down_is_a_difference(tree, monkeypatch):
    states = {"qmail-send": "up"}
    monkeypatch.setattr(converged, "service_report",
                        lambda scan_dir, run: [{"name": n, "state": s} for n, s in states.items()])
    spec_with_services = dict(spec(tree), scan_dir=str(tree))
    recorded = converged.load(converged.record("d", {}, converged.snapshot(spec_with_services, no_commands)))
    states["qmail-send"] = "down"
    reasons = converged.differences(recorded, "d", converged.snapshot(spec_with_services, no_commands), 0)
    assert reasons == ["service qmail-send is down (was up)"]


def test_glob_roots_and_many_differences_are_summarised(tree):
    for index in range(15):
        (tree / ("tcp.%d" % index)).write_text("x")
    pattern = {"roots": [str(tree / "tcp.*")]}
    recorded = converged.load(converged.record("d", {}, converged.snapshot(pattern, no_commands)))
    assert len([path for path in recorded["snapshot"]["files"] if path.startswith(str(tree))]) == 15
    for index in range(15):
        (tree / ("tcp.%d" % index)).write_text("y")
    reasons = converged.differences(recorded, "d", converged.snapshot(pattern, no_commands), 0)
    assert len(reasons) == 11 and reasons[-1] == "and 5 more differences"


def test_a_record_holds_the_services_as_the_run_meant_them(tree):
    # svscan starts a new service's supervise up to five seconds after the run linked it: the
    # record says up (no down file) or down (a down file), whatever svstat says at that moment.
    scan = tree / "service"
    (scan / "qmail-send").mkdir(parents=True)
    (scan / "qmail-smtpd").mkdir()
    (scan / "qmail-smtpd" / "down").write_text("")
    recorded = converged.snapshot(dict(spec(tree), scan_dir=str(scan)), no_commands, intended=True)
    assert recorded["services"] == {"qmail-send": "up", "qmail-smtpd": "down"}


def test_a_daemon_the_init_system_stopped_is_a_difference(tree):
    """Dovecot is recorded as started (the role starts it); stopped, a complete run is due."""
    asked = []

    def init(running):
        def run(argv):
            asked.append(argv)
            return (0 if running else 3), "", ""
        return run
    with_daemons = dict(spec(tree), daemons=["dovecot"])
    recorded = converged.load(converged.record("d", {}, converged.snapshot(with_daemons, init(False), intended=True)))
    assert recorded["snapshot"]["services"] == {"init:dovecot": "up"}
    assert asked == []
    assert converged.differences(recorded, "d", converged.snapshot(with_daemons, init(True)), 0) == []
    assert "dovecot" in asked[-1]
    reasons = converged.differences(recorded, "d", converged.snapshot(with_daemons, init(False)), 0)
    assert reasons == ["service init:dovecot is down (was up)"]
