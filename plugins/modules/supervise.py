#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: supervise
short_description: Declare a daemontools service (run script, multilog, envdir, scan dir link)
version_added: 0.1.0
description:
  - Creates or removes one daemontools service directory with its C(run) script, an optional
    C(env/) directory for C(envdir), an optional C(log/run) running C(multilog) as the log user, a
    C(down) file, and the symbolic link into svscan's scan directory.
  - Signals supervise through C(svc) only for what changed, and only when supervise runs the service
    - C(svc -t) when the run script or the environment changed, C(svc -d) when a C(down) file was
    added, C(svc -u) when it was removed, C(svc -dx) before a link or the service is removed.
  - Files are written atomically (temporary file in the same directory, then rename).
  - A C(run) script (or the generated C(log/run)) whose C(#!) line names a shell (C(sh), C(bash),
    C(dash), C(ksh), C(mksh), C(zsh), C(ash), directly or through C(env)) must pass that shell's
    C(-n) syntax check before it replaces the old file, as C(validate:) does in
    M(ansible.builtin.template); a refused script fails the task with the shell's message and
    leaves the old file in place. Scripts in other languages are written unchecked. Check mode
    does not run the check.
author:
  - mailops.qmail developers (@mailops)
attributes:
  check_mode:
    description: Decides every change without making it, and reports whether supervise would be signalled.
    support: full
  diff_mode:
    description: Whole-text diff per changed file and link.
    support: full
    details:
      - Values of keys listed in O(secret_env) are shown masked.
  idempotent:
    description: A second run with the same options changes nothing and signals nothing.
    support: partial
    details:
      - O(state=restarted) and O(state=reloaded) signal the service every time it is supervised.
options:
  name:
    description: Service name; the link in O(scan_dir) carries this name.
    type: str
    required: true
  service_dir:
    description: The service directory. Defaults to C(/var/qmail/supervise/NAME).
    type: path
  scan_dir:
    description: svscan's scan directory (C(/etc/service) on Debian, C(/service) on Gentoo).
    type: path
    required: true
  run:
    description:
      - Content of the C(run) script, starting with an interpreter line. Required with O(state=present).
    type: str
  log:
    description: Whether to run C(multilog) from C(log/run) for the service's output.
    type: bool
    default: true
  log_dir:
    description: Directory multilog writes to, owned by O(log_user). Defaults to C(/var/log/qmail/NAME).
    type: path
  log_user:
    description: User that runs multilog and owns O(log_dir).
    type: str
    default: qmaill
  log_size:
    description:
      - Bytes per log file before multilog rotates (C(s) action), 4096 to 16777215; the Gentoo
        scripts use about 2.5 MB.
    type: int
    default: 2500000
  log_count:
    description: Number of log files multilog keeps (C(n) action), at least 2.
    type: int
    default: 10
  env:
    description:
      - Environment variables for C(envdir SERVICE_DIR/env), one file per variable. Files not listed are
        removed. Not given means the env directory is left alone.
      - Names are letters, digits and C(_), not starting with a digit. Values are strings or numbers
        (null is the empty string) that envdir reads back unchanged - one line, no NUL, no trailing
        space or tab; anything else is refused rather than written. Booleans are refused too (quote
        them to pass the text).
    type: dict
  secret_env:
    description: Keys of O(env) whose values are secret; their files get mode 0600 and are masked in the diff.
    type: list
    elements: str
    default: []
  enabled:
    description: Whether the service is linked into O(scan_dir) (svscan then starts supervise for it).
    type: bool
    default: true
  down:
    description: Whether a C(down) file keeps the service from starting when supervise starts.
    type: bool
    default: false
  down_reason:
    description:
      - Why the service is down, written into the C(down) file when O(down=true) (supervise reads only
        that the file exists). M(mailops.qmail.health) reports it.
    type: str
  restart:
    description: Whether to send C(svc -t) when the run script or environment changed and the service is supervised.
    type: bool
    default: true
  state:
    description:
      - V(present) declares the service, V(absent) stops it and removes the link and the service directory
        (logs are kept).
      - V(restarted) (C(svc -t)) and V(reloaded) (C(svc -h), qmail-send rereads locals and virtualdomains)
        signal a supervised service and change nothing on disk.
    type: str
    choices: [present, absent, restarted, reloaded]
    default: present
notes:
  - Needs daemontools' C(svok), C(svstat) and C(svc) on the PATH to signal services; without them the
    files are still managed and RV(running) is null.
"""

EXAMPLES = r"""
- name: Ensure qmail-send runs under supervise with its log
  mailops.qmail.supervise:
    name: qmail-send
    scan_dir: /etc/service
    run: |
      #!/bin/sh
      exec /var/qmail/rc

- name: Ensure a service with secret environment is declared but not started
  mailops.qmail.supervise:
    name: relay-check
    scan_dir: /service
    run: |
      #!/bin/sh
      exec envdir ./env /usr/local/bin/relay-check
    env:
      API_TOKEN: "{{ relay_check_token }}"
      LEVEL: "2"
    secret_env: [API_TOKEN]
    down: true
    down_reason: waiting for the relay-check API token to be issued

- name: Reload qmail-send so it rereads locals and virtualdomains
  mailops.qmail.supervise:
    name: qmail-send
    scan_dir: /etc/service
    state: reloaded
"""

RETURN = r"""
service_dir:
  description: The service directory.
  returned: always
  type: str
  sample: /var/qmail/supervise/qmail-send
restarted:
  description: Whether C(svc -t) was sent (or would be, in check mode).
  returned: always
  type: bool
running:
  description: Whether svstat reports the service up; null when svstat is not available.
  returned: always
  type: bool
changes:
  description: What was changed (or would be, in check mode), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ["create /var/qmail/supervise/qmail-send/run", "link /etc/service/qmail-send -> /var/qmail/supervise/qmail-send"]
"""

from ansible_collections.mailops.qmail.plugins.module_utils._io import FileWriteError
from ansible_collections.mailops.qmail.plugins.module_utils._module import QmailModule
from ansible_collections.mailops.qmail.plugins.module_utils.supervise import Service, SuperviseError


class _Runner(object):
    def __init__(self, module):
        self.module = module

    def run(self, argv):
        return self.module.run_command(argv)

    def which(self, name):
        return self.module.get_bin_path(name, opt_dirs=["/usr/bin", "/command", "/usr/local/bin"])


def main():
    module = QmailModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            service_dir=dict(type="path"),
            scan_dir=dict(type="path", required=True),
            run=dict(type="str"),
            log=dict(type="bool", default=True),
            log_dir=dict(type="path"),
            log_user=dict(type="str", default="qmaill"),
            log_size=dict(type="int", default=2500000),
            log_count=dict(type="int", default=10),
            env=dict(type="dict"),
            secret_env=dict(type="list", elements="str", default=[], no_log=False),
            enabled=dict(type="bool", default=True),
            down=dict(type="bool", default=False),
            down_reason=dict(type="str"),
            restart=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent", "restarted", "reloaded"]),
        ),
        required_if=[("state", "present", ["run"])],
        supports_check_mode=True,
    )
    for key in module.params["secret_env"]:
        value = (module.params["env"] or {}).get(key)
        if value:
            module.no_log_values.add(str(value))
    try:
        service = Service(module.params, _Runner(module), check_mode=module.check_mode)
        result = service.run()
    except (SuperviseError, FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    for warning in service.warnings:
        module.warn(warning)
    if module._diff:
        result["diff"] = service.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
