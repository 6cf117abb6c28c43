"""svscan at boot for real: Debian 12 booted by sysvinit's init with OpenRC, and with initscripts.

The role has converged once. The tests look at that boot, then restart each container with
`podman restart` and look again, without Ansible (testinfra's podman backend runs `podman exec`).
"""
import subprocess
import time

import pytest

OPENRC = "mailops-boot-openrc"
SYSVINIT = "mailops-boot-sysvinit"
INITTAB_LINE = "SV:12345:respawn:/usr/bin/svscanboot"
SCAN_DIR = "/etc/service"
# How long podman stop waits for the stop signal to work before it sends SIGKILL: generous, since
# OpenRC stops every service first and a busy CI machine took over 10 s; a stop signal init ignores
# is still caught (podman warns, and the exit code is 137).
STOP_TIMEOUT = 60


def processes(host):
    """The process table as a list of dicts (pid, ppid, comm, args)."""
    table = []
    for line in host.check_output("ps -eo pid=,ppid=,comm=,args=").splitlines():
        pid, ppid, comm, args = line.split(None, 3)
        table.append({"pid": int(pid), "ppid": int(ppid), "comm": comm, "args": args})
    return table


def named(table, comm):
    return [p for p in table if p["comm"] == comm]


def probe_up(host):
    return host.run("svstat %s/boot-probe" % SCAN_DIR).stdout


def wait_until_supervised(host, timeout=30):
    """Poll until the probe service is up again (svscan looks every 5 s); return svstat's output."""
    deadline = time.time() + timeout
    while True:
        out = probe_up(host)
        if ": up (pid" in out or time.time() > deadline:
            return out
        time.sleep(0.5)


def inspect(name, field):
    return subprocess.run(["podman", "inspect", "--format", "{{.State.%s}}" % field, name],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def boots(hosts):
    """Each container's process table in the boot the converge ran in, then after it was stopped
    and started again (both at once), with how each stop ended: podman's warning when the stop
    signal failed, and the exit code (137 when podman had to send SIGKILL)."""
    before = {name: processes(host) for name, host in hosts.items()}
    started = {name: inspect(name, "StartedAt") for name in hosts}
    stops = {name: subprocess.Popen(["podman", "stop", "--time", str(STOP_TIMEOUT), name],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for name in hosts}
    stopped = {}
    for name, proc in stops.items():
        warning = proc.communicate(timeout=60)[1]
        assert proc.returncode == 0, name + warning
        stopped[name] = {"warning": warning, "exit_code": inspect(name, "ExitCode")}
    subprocess.run(["podman", "start"] + list(hosts), stdout=subprocess.DEVNULL, check=True)
    probes = {name: wait_until_supervised(host) for name, host in hosts.items()}
    after = {name: processes(host) for name, host in hosts.items()}
    for name in hosts:
        assert inspect(name, "StartedAt") != started[name], "%s was not restarted" % name
    return {"before": before, "after": after, "probes": probes, "stopped": stopped}


# ---- sysvinit: the guide's inittab line --------------------------------------------------------
def test_inittab_has_the_guides_line_once(hosts):
    lines = hosts[SYSVINIT].file("/etc/inittab").content_string.splitlines()
    assert [line for line in lines if line.startswith("SV:")] == [INITTAB_LINE]


def test_init_reread_inittab_when_the_line_was_added(hosts, boots):
    # daemontools-run's postinst adds an SV line and runs `init q` itself: with it installed this
    # test would prove nothing about the role's handler.
    assert not hosts[SYSVINIT].package("daemontools-run").is_installed
    # Init starts respawn lines at boot or when it rereads inittab: svscanboot running as init's
    # child in the boot the line was added in means `init q` was issued.
    svscanboot = [p for p in named(boots["before"][SYSVINIT], "svscanboot") if p["ppid"] == 1]
    assert len(svscanboot) == 1, boots["before"][SYSVINIT]


def test_init_respawns_svscanboot_after_restart(boots):
    table = boots["after"][SYSVINIT]
    svscanboot = [p for p in named(table, "svscanboot") if p["ppid"] == 1]
    assert len(svscanboot) == 1, table
    svscan = named(table, "svscan")
    assert [(p["ppid"], p["args"]) for p in svscan] == [(svscanboot[0]["pid"], "svscan %s" % SCAN_DIR)]


# ---- OpenRC: rc-update add svscan default -------------------------------------------------------
def test_openrc_has_svscan_in_the_default_runlevel(hosts):
    host = hosts[OPENRC]
    assert host.file("/etc/runlevels/default/svscan").linked_to == "/etc/init.d/svscan"
    # No inittab line starts a second svscan on the same directory.
    assert "svscanboot" not in host.file("/etc/inittab").content_string


def test_openrc_starts_svscan_after_restart(hosts, boots):
    host = hosts[OPENRC]
    svscan = named(boots["after"][OPENRC], "svscan")
    assert [p["args"] for p in svscan] == ["/usr/bin/svscan %s" % SCAN_DIR], boots["after"][OPENRC]
    # The pid file is on the fresh /run of this boot: OpenRC started this svscan.
    assert int(host.file("/run/svscan.pid").content_string) == svscan[0]["pid"]
    assert host.run("rc-service svscan status").rc == 0


# ---- both ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [OPENRC, SYSVINIT])
def test_supervised_service_is_back_after_restart(boots, name):
    assert ": up (pid" in boots["probes"][name], boots["probes"][name]
    sleep = named(boots["after"][name], "sleep")
    supervise = {p["pid"] for p in named(boots["after"][name], "supervise")}
    assert len(sleep) == 1 and sleep[0]["ppid"] in supervise, boots["after"][name]


@pytest.mark.parametrize("name", [OPENRC, SYSVINIT])
def test_restart_does_not_wait_for_sigkill(boots, name):
    # SIGINT halts init and halt ends the container (images/sysvinit/Containerfile); with a stop
    # signal init ignores, podman waits the whole timeout, warns, and kills it (exit code 137).
    stopped = boots["stopped"][name]
    assert "SIGKILL" not in stopped["warning"] and stopped["exit_code"] != "137", stopped
