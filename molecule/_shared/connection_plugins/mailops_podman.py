# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's connection to its podman containers: nsenter, pipelined.

containers.podman.podman runs `podman exec` without -i, so it cannot pipeline: every task costs a
`podman mount`, a temporary directory, a copy, a chmod, the run and a clean-up, each a podman
command (about 0.2 s of a busy machine's time apiece). This connection enters the container's
namespaces with nsenter (about 6 ms) and sends modules on stdin. Processes it starts are in the
container's namespaces but not its cgroup: services are started by the container's own init, as
everywhere else. For the bench only (.config/molecule/config.yml): not part of the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: mailops_podman
short_description: Run tasks in local podman containers, pipelined
description:
  - Runs each command in a running container's namespaces with nsenter, modules on stdin (pipelining).
  - The molecule bench of mailops.qmail uses it; it is not part of the collection.
author: mailops.qmail developers
options:
  remote_addr:
    description: The container's name or ID.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  pipelining:
    description: Send the module on stdin instead of copying it.
    default: true
    type: boolean
    vars:
      - name: ansible_pipelining
"""

import os
import shlex
import subprocess
import tempfile

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.process import get_bin_path
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase

# What `podman exec` gives a command in the bench images.
_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "container=podman",
        "HOME=/root"]
_CACHE = os.path.join(tempfile.gettempdir(), "mailops-podman-pids")


def _valid(pid, container_id):
    """Whether pid is still the init of the container with that ID (a recreated container has a
    new ID, a stopped one no such process)."""
    try:
        with open("/proc/%s/cgroup" % pid, encoding="utf-8") as handle:
            return container_id in handle.read()
    except OSError:
        return False


class Connection(ConnectionBase):
    transport = "mailops_podman"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._pid = None

    def _container(self):
        return self.get_option("remote_addr")

    def _init_pid(self):
        """The container's init as the host sees it, cached per container across tasks."""
        name = self._container()
        cached = os.path.join(_CACHE, name)
        try:
            with open(cached, encoding="utf-8") as handle:
                pid, container_id = handle.read().split()
            if _valid(pid, container_id):
                return pid
        except (OSError, ValueError):
            pass
        found = subprocess.run([get_bin_path("podman"), "inspect", "--format", "{{.State.Pid}} {{.Id}}", name],
                               capture_output=True, text=True, check=False)
        try:
            pid, container_id = found.stdout.split()
        except ValueError:
            pid = container_id = "0"
        if found.returncode != 0 or pid == "0":
            raise AnsibleConnectionFailure("container %s is not running: %s" % (name, found.stderr.strip()))
        os.makedirs(_CACHE, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=_CACHE, delete=False, encoding="utf-8") as handle:
            handle.write("%s %s\n" % (pid, container_id))
        os.replace(handle.name, cached)
        return pid

    def _connect(self):
        if not self._connected:
            self._pid = self._init_pid()
            self._connected = True
        return self

    def _run(self, argv, in_data=None, stdout=subprocess.PIPE):
        """argv run inside the container's namespaces, as root, with podman exec's environment."""
        command = ["nsenter", "-t", self._pid, "-m", "-u", "-i", "-n", "-p", "-C", "--", "/usr/bin/env", "-i"] + _ENV
        process = subprocess.Popen([to_bytes(word, errors="surrogate_or_strict") for word in command + argv],
                                   stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE)
        out, err = process.communicate(in_data)
        return process.returncode, out, err

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._run(shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        with open(in_path, "rb") as handle:
            rc, _out, err = self._run(["sh", "-c", 'cat > "$1"', "sh", out_path], handle.read())
        if rc != 0:
            raise AnsibleError("copying %s to %s:%s failed: %s" % (in_path, self._container(), out_path, to_native(err)))

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        with open(out_path, "wb") as handle:
            rc, _out, err = self._run(["cat", in_path], stdout=handle)
        if rc != 0:
            raise AnsibleError("copying %s:%s to %s failed: %s" % (self._container(), in_path, out_path, to_native(err)))

    def close(self):
        self._connected = False
