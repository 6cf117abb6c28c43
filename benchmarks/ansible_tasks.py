# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of the collection's modules against the usual Ansible way, on one podman container.

1. tcprules: one mailops.qmail.tcprules task vs ansible.builtin.template of the rules file plus a
   handler running tcprules (ucspi-tcp is installed in the container for it);
2. control: 30 control files in one mailops.qmail.control task vs 30 ansible.builtin.copy tasks.

Each case runs twice: a run that changes everything, then an unchanged re-run. Printed figures:
the tasks' own time (from the json callback: the sum of the tasks' and handlers' durations) and
the whole ansible-playbook wall time, and their ratios (ours / usual).

Run from the repository root after `source scripts/lib.sh` (it needs ANSIBLE_COLLECTIONS_PATH
with containers.podman and this collection, and the image localhost/mailops-qmail/debian12-base).
The container is removed at the end, whatever happens.
"""

from __future__ import absolute_import, division, print_function

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

IMAGE = os.environ.get("MAILOPS_IMAGE_BASE", "localhost/mailops-qmail/debian12-base")
RULE_COUNT = 200
CONTROL_FILES = 30


def podman(*args, **kwargs):
    return subprocess.run(["podman"] + list(args), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, **kwargs)


def tcp_rules(round_number):
    rules = [dict(match="127.", env={"RELAYCLIENT": ""})]
    for i in range(RULE_COUNT - 2):
        rules.append(dict(match="10.%d.%d.%d" % (round_number, i // 250, i % 250),
                          env={"RELAYCLIENT": ""} if i % 3 == 0 else {}))
    rules.append(dict(match="", env={"SMTPAUTH": "!", "RBLSMTPD": ""}))
    return rules


def control_files(round_number):
    files = {
        "me": "mail%d.example.com" % round_number, "defaultdomain": "example.com",
        "plusdomain": "example.com", "concurrencylocal": 10 + round_number,
        "concurrencyremote": 20 + round_number, "databytes": 20000000 + round_number,
        "queuelifetime": 604800, "timeoutconnect": 60, "timeoutremote": 1200,
        "timeoutsmtpd": 1200, "smtpgreeting": "mail.example.com ESMTP %d" % round_number,
        "bouncefrom": "MAILER-DAEMON", "bouncehost": "example.com",
        "doublebouncehost": "example.com", "doublebounceto": "postmaster",
        "envnoathost": "example.com", "helohost": "mail.example.com", "idhost": "example.com",
        "localiphost": "example.com", "defaulthost": "example.com",
        "locals": ["example.com", "mail.example.com", "r%d.example.com" % round_number],
        "rcpthosts": ["example.com", ".example.com", "r%d.example.net" % round_number],
        "virtualdomains": ["lists.example.com:alias-lists", "r%d.example.org:joe" % round_number],
        "badmailfrom": ["@spam%d.example" % round_number, "bad@example.net"],
        "percenthack": ["example.com"], "notipme": ["127.0.0.1"],
        "defaultdelivery": "./Maildir/", "tarpitcount": 50, "tarpitdelay": 5,
        "concurrencyincoming": 40 + round_number,
    }
    assert len(files) == CONTROL_FILES
    return files


def as_lines(value):
    if isinstance(value, list):
        return "".join("%s\n" % item for item in value)
    return "%s\n" % value


TEMPLATE = """{% for rule in bench_rules %}
{{ rule.match }}:allow{% for name, value in rule.env.items() %},{{ name }}="{{ value }}"{% endfor %}

{% endfor %}"""


def write_playbooks(work, round_number):
    rules = tcp_rules(round_number)
    files = control_files(round_number)
    plays = {
        "tcprules_module": [{
            "name": "tcprules module", "hosts": "bench", "gather_facts": False,
            "tasks": [{"name": "Rules file and CDB", "mailops.qmail.tcprules": {
                "path": "/etc/tcp.module", "rules": rules}}]}],
        "tcprules_usual": [{
            "name": "template + handler", "hosts": "bench", "gather_facts": False,
            "vars": {"bench_rules": rules},
            "tasks": [{"name": "Rules file", "ansible.builtin.template": {
                "src": os.path.join(work, "tcp.smtp.j2"), "dest": "/etc/tcp.usual",
                "mode": "0644"}, "notify": "Rebuild the CDB"}],
            "handlers": [{"name": "Rebuild the CDB", "ansible.builtin.shell": {
                "cmd": "tcprules /etc/tcp.usual.cdb /etc/tcp.usual.tmp < /etc/tcp.usual"},
                "changed_when": True}]}],
        "control_module": [{
            "name": "control module", "hosts": "bench", "gather_facts": False,
            "tasks": [{"name": "Control files", "mailops.qmail.control": {
                "control_dir": "/bench/module", "flavour": "gentoo", "files": files}}]}],
        "control_usual": [{
            "name": "copy tasks", "hosts": "bench", "gather_facts": False,
            "tasks": [{"name": "Control file %s" % name, "ansible.builtin.copy": {
                "dest": "/bench/usual/%s" % name, "content": as_lines(value), "owner": "root",
                "group": "root", "mode": "0644"}} for name, value in sorted(files.items())]}],
    }
    for name, play in plays.items():
        with open(os.path.join(work, name + ".yml"), "w") as handle:
            json.dump(play, handle, indent=1)  # JSON is YAML


def parse_time(text):
    return datetime.datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")


def run_playbook(work, name):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    start = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", "-i", os.path.join(work, "inventory"),
                           os.path.join(work, name + ".yml")], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s\n%s" % (name, proc.stdout[-3000:], proc.stderr[-3000:]))
    report = json.loads(proc.stdout)
    task_time = 0.0
    changed = 0
    for play in report["plays"]:
        for task in play["tasks"]:
            duration = task["task"]["duration"]
            task_time += (parse_time(duration["end"]) - parse_time(duration["start"])).total_seconds()
            changed += sum(1 for result in task["hosts"].values() if result.get("changed"))
    return task_time, wall, changed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="changing rounds per case (median)")
    parser.add_argument("--cases", default="tcprules,control", help="comma-separated: tcprules, control")
    args = parser.parse_args()
    if not shutil.which("ansible-playbook"):
        sys.exit("ansible-playbook is not on PATH: source scripts/lib.sh first")
    name = "mailops-bench-%d" % os.getpid()
    work = tempfile.mkdtemp(prefix="mailops-ansible-bench-")
    with open(os.path.join(work, "tcp.smtp.j2"), "w") as handle:
        handle.write(TEMPLATE)
    with open(os.path.join(work, "inventory"), "w") as handle:
        handle.write("[bench]\n%s ansible_connection=containers.podman.podman "
                     "ansible_python_interpreter=/usr/bin/python3\n" % name)
    podman("run", "-d", "--init", "--name", name, IMAGE, "sleep", "infinity")
    try:
        print("container %s from %s: installing ucspi-tcp for the usual way..." % (name, IMAGE))
        podman("exec", name, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
               "apt-get install -y -qq ucspi-tcp >/dev/null && mkdir -p /bench/module /bench/usual")
        cases = (("tcprules", "tcprules_module", "tcprules_usual",
                  "1 tcprules task (%d rules) vs template + handler running tcprules" % RULE_COUNT),
                 ("control", "control_module", "control_usual",
                  "%d control files: 1 control task vs %d copy tasks" % (CONTROL_FILES, CONTROL_FILES)))
        cases = tuple(case for case in cases if case[0] in args.cases.split(","))
        results = dict((case[0], {"changed": [], "unchanged": []}) for case in cases)
        for round_number in range(1, args.rounds + 1):
            write_playbooks(work, round_number)
            for case, ours, usual, _title in cases:
                for kind in ("changed", "unchanged"):
                    mine = run_playbook(work, ours)
                    theirs = run_playbook(work, usual)
                    if kind == "changed":
                        assert mine[2] >= 1 and theirs[2] >= 1, (case, mine, theirs)
                    else:
                        assert mine[2] == 0 and theirs[2] == 0, (case, mine, theirs)
                    results[case][kind].append((mine, theirs))
        print("median of %d rounds; task = sum of task+handler durations, wall = whole "
              "ansible-playbook run" % args.rounds)
        print("%-9s %-10s %10s %10s %8s %10s %10s %8s"
              % ("case", "run", "ours task", "usual task", "ratio", "ours wall", "usual wall", "ratio"))
        for case, _ours, _usual, title in cases:
            for kind in ("changed", "unchanged"):
                runs = results[case][kind]
                ours_task = statistics.median(r[0][0] for r in runs)
                usual_task = statistics.median(r[1][0] for r in runs)
                ours_wall = statistics.median(r[0][1] for r in runs)
                usual_wall = statistics.median(r[1][1] for r in runs)
                print("%-9s %-10s %9.2fs %9.2fs %8.2f %9.2fs %9.2fs %8.2f"
                      % (case, kind, ours_task, usual_task, ours_task / usual_task,
                         ours_wall, usual_wall, ours_wall / usual_wall))
            print("          (%s)" % title)
        print("goals: tcprules ratio <= 0.6; control at least 5x faster (ratio <= 0.2)")
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
