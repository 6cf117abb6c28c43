"""Benchmark the core roles (qmail, daemontools, send, mta_swap) on one container.

Starts a container from the exim4 image (or MAILOPS_QMAIL_IMAGE) with systemd as PID 1, runs the
default scenario's converge playbook twice over the podman connection and prints, for each run,
the wall time, the number of task results (ok + skipped + failed, as in the play recap) and the
changed count. The second run is the idempotent one: changed must be 0.

Usage: source scripts/lib.sh && python benchmarks/core_roles.py
"""
import os
import re
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOK = os.path.join(ROOT, "molecule", "default", "converge.yml")
IMAGE = os.environ.get("MAILOPS_QMAIL_IMAGE") or os.environ.get(
    "MAILOPS_IMAGE_EXIM4", "localhost/mailops-qmail/debian12-exim4")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)",
                   re.MULTILINE)


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def converge(name):
    start = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-i", "%s," % name, "-c", "containers.podman.podman", PLAYBOOK],
                         capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    match = RECAP.search(run.stdout)
    if run.returncode != 0 or not match:
        sys.exit("converge failed (rc=%s):\n%s\n%s" % (run.returncode, run.stdout[-4000:], run.stderr[-2000:]))
    ok, changed, failed, skipped = (int(match.group(i)) for i in (2, 3, 5, 6))
    return {"seconds": elapsed, "results": ok + failed + skipped, "ok": ok, "changed": changed, "skipped": skipped}


def main():
    name = "mailops-bench-%s" % uuid.uuid4().hex[:8]
    podman("run", "-d", "--name", name, "--hostname", name, IMAGE)
    try:
        podman("exec", name, "systemctl", "is-system-running", "--wait", check=False)
        podman("exec", name, "useradd", "-m", "mailtest")
        print("image: %s" % IMAGE)
        for label in ("first converge", "second converge"):
            r = converge(name)
            print("%-16s %6.1f s  task results %3d (ok %d, skipped %d)  changed %d"
                  % (label, r["seconds"], r["results"], r["ok"], r["skipped"], r["changed"]))
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


if __name__ == "__main__":
    main()
