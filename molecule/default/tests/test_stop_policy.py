"""mta_swap_queue_policy=stop on a real exim4 host: the run stops, exim4 and its queue stay.

A throwaway container from the exim4 image (not the scenario's instance, which converges with the
flush policy) gets a message to a remote address queued, then the role runs over the podman
connection and must fail with the policy's message.
"""
import os
import subprocess
import uuid

import pytest

IMAGE = os.environ.get("MAILOPS_IMAGE_EXIM4", "localhost/mailops-qmail/debian12-exim4")
PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stop_policy.yml")


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def exim_host():
    name = "mailops-stop-%s" % uuid.uuid4().hex[:8]
    podman("run", "-d", "--init", "--name", name, IMAGE, "sleep", "infinity")
    try:
        podman("exec", name, "sh", "-c",
               "printf 'Subject: stays queued\\n\\nremote mail\\n' | exim4 -odq someone@example.net")
        yield name
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def exec_out(name, command):
    return podman("exec", name, "sh", "-c", command).stdout.strip()


def test_stop_policy_stops_and_keeps_exim_and_its_queue(exim_host):
    assert exec_out(exim_host, "exim4 -bpc") == "1"
    run = subprocess.run(
        ["ansible-playbook", "-i", "%s," % exim_host, "-c", "containers.podman.podman", PLAYBOOK],
        capture_output=True, text=True, check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    assert "mta_swap_queue_policy=stop" in output
    assert "exim4: 1 messages" in output
    assert "The old MTA was not touched" in output
    assert "install ok installed" in exec_out(exim_host, "dpkg-query -W -f '${Status}' exim4-base")
    assert exec_out(exim_host, "exim4 -bpc") == "1"
    assert "someone@example.net" in exec_out(exim_host, "exim4 -bp")
