# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's connection to its podman containers, with pipelining.

containers.podman.podman runs `podman exec` without -i, so it cannot pipeline: every task costs a
`podman mount`, a temporary directory, a copy, a chmod, the run and a clean-up. With -i the module
goes to the interpreter's stdin, and a task is one `podman exec`. Files (copy, template) go
through `podman cp`. For the bench only (molecule/.config): it is not part of the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: mailops_podman
short_description: Run tasks in local podman containers, pipelined
description:
  - Runs each command with C(podman exec -i) in a running container and copies files with C(podman cp).
  - The molecule bench of mailops.qmail uses it; it is not part of the collection.
author: mailops.qmail developers
options:
  remote_addr:
    description: The container's name or ID.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  remote_user:
    description: The user commands run as in the container (podman exec --user).
    vars:
      - name: ansible_user
  pipelining:
    description: Send the module on stdin instead of copying it.
    default: true
    type: boolean
    vars:
      - name: ansible_pipelining
"""

import shlex
import subprocess

from ansible.errors import AnsibleError
from ansible.module_utils.common.process import get_bin_path
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase


class Connection(ConnectionBase):
    transport = "mailops_podman"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._podman = get_bin_path("podman")

    def _connect(self):
        self._connected = True
        return self

    def _run(self, args, in_data=None):
        command = [self._podman] + args
        process = subprocess.Popen([to_bytes(word, errors="surrogate_or_strict") for word in command],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = process.communicate(in_data)
        return process.returncode, stdout, stderr

    def _container(self):
        return self.get_option("remote_addr")

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "-i"]
        if self.get_option("remote_user"):
            args += ["--user", self.get_option("remote_user")]
        args += [self._container()] + shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        return self._run(args, in_data)

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        rc, _stdout, stderr = self._run(["cp", in_path, "%s:%s" % (self._container(), out_path)])
        if rc != 0:
            raise AnsibleError("podman cp %s to %s:%s failed: %s" % (in_path, self._container(), out_path,
                                                                     to_native(stderr)))

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        rc, _stdout, stderr = self._run(["cp", "%s:%s" % (self._container(), in_path), out_path])
        if rc != 0:
            raise AnsibleError("podman cp %s:%s to %s failed: %s" % (self._container(), in_path, out_path,
                                                                     to_native(stderr)))

    def close(self):
        self._connected = False
