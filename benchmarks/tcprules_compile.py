# -*- coding: utf-8 -*-
# Copyright: mailops.qmail developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile 1k, 10k and 100k tcprules rules with the collection's pure-Python code and with Debian's
/usr/bin/tcprules, side by side, and print the times, their ratio and whether the CDBs are
byte-identical; then the time to recognise an unchanged rule set against a rebuild.

Prints figures only (no pass/fail): run `python3 benchmarks/tcprules_compile.py [--repeat N]`;
`--profile` adds where our compile of the largest size spends its time (cProfile).
Needs ucspi-tcp installed (apt-get install ucspi-tcp).
"""

from __future__ import absolute_import, division, print_function

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TCPRULES = "/usr/bin/tcprules"


def import_collection(root):
    """Make `ansible_collections.mailops.qmail` importable from this checkout."""
    os.makedirs(os.path.join(root, "ansible_collections", "mailops"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "mailops", "qmail"))
    sys.path.insert(0, root)


def make_rules(count):
    """A rule set shaped like a large real one: single hosts, prefixes, ranges, names, env vars."""
    rules = []
    for i in range(count - 1):
        a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
        kind = i % 20
        if kind < 12:
            rules.append(dict(match="10.%d.%d.%d" % (a, b, c)))
        elif kind < 15:
            rules.append(dict(match="172.%d.%d.%d" % (16 + a % 16, b, c), env={"RELAYCLIENT": ""}))
        elif kind == 15:
            rules.append(dict(match="=host%d.example.com" % i, action="deny"))
        elif kind == 16:
            rules.append(dict(match="192.%d.%d." % (b, c), env={"RBLSMTPD": "-listed as spam source"}))
        elif kind == 17:
            rules.append(dict(match="100.%d.%d.%d-%d" % (a, b, c & 0xF0, (c & 0xF0) + 3),
                              env={"RELAYCLIENT": "", "SMTPAUTH": "!"}))
        elif kind == 18:
            rules.append(dict(match="=.dyn%d.example.net" % (i % 500), env={"RBLSMTPD": "dynamic %d" % (i % 50)}))
        else:
            rules.append(dict(match="198.%d.%d.%d" % (a, b, c), env={"MAXRCPT": str(i % 100)}))
    rules.append(dict(match="", env={"SMTPAUTH": "!"}))
    return rules


def _cpu():
    """CPU seconds (user + system) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, repeat):
    """Median wall time and median CPU time of `repeat` calls, and the last result.

    CPU time counts the child for the C tool and is steadier than wall time on a busy machine.
    """
    walls = []
    cpus = []
    result = None
    for _i in range(repeat):
        cpu = _cpu()
        start = time.perf_counter()
        result = function()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (median shown)")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--profile", action="store_true",
                        help="then profile our compile of the largest size (cProfile, by own time)")
    args = parser.parse_args()
    if not os.access(TCPRULES, os.X_OK):
        sys.exit("%s is missing: apt-get install ucspi-tcp" % TCPRULES)
    work = tempfile.mkdtemp(prefix="tcprules-bench-")
    try:
        measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args, work):
    import_collection(os.path.join(work, "collections"))
    from ansible_collections.mailops.qmail.plugins.module_utils import _io, cdb, tcprules

    print("tcprules compile: ours (pure Python %s) vs %s; medians of %d runs; load average %s"
          % (sys.version.split()[0], TCPRULES, args.repeat, " ".join("%.2f" % x for x in os.getloadavg())))
    print("%7s %7s | %9s %9s %6s | %9s %9s %6s | %9s %6s | %4s | %9s %9s %6s"
          % ("rules", "records", "C wall", "ours wall", "ratio", "C cpu", "ours cpu", "ratio",
             "ours+wr", "ratio", "same", "unchanged", "rebuild", "u/r"))
    for size in (int(s) for s in args.sizes.split(",")):
        rules = make_rules(size)
        body = tcprules.render(rules, header=False)
        source = body.encode("utf-8")
        src_path = os.path.join(work, "rules.%d" % size)
        with open(src_path, "wb") as handle:
            handle.write(source)
        real_cdb = os.path.join(work, "real.%d.cdb" % size)

        def run_c():
            with open(src_path, "rb") as handle:
                subprocess.run([TCPRULES, real_cdb, real_cdb + ".tmp"], stdin=handle, check=True)

        c_wall, c_cpu, _none = timed(run_c, args.repeat)
        ours_wall, ours_cpu, ours = timed(lambda: tcprules.compile_source(source), args.repeat)
        our_cdb = os.path.join(work, "ours.%d.cdb" % size)

        def compile_and_write():
            _io.write_atomic(our_cdb, tcprules.compile_source(source), mode="0644")

        write_wall, _cpu_unused, _none = timed(compile_and_write, args.repeat)
        with open(real_cdb, "rb") as handle:
            real = handle.read()
        identical = ours == real

        # What the module does on a second run: the source file it wrote carries the CDB's
        # SHA-256, so an unchanged rule set is recognised from the two files' bytes.
        current_source = tcprules.source_text(body, real)

        def unchanged():
            with open(real_cdb, "rb") as handle:
                current_cdb = handle.read()
            return tcprules.up_to_date(body, current_source, current_cdb)

        unchanged_wall, _cpu_unused, is_unchanged = timed(unchanged, args.repeat)
        assert is_unchanged
        print("%7d %7d | %7.1fms %7.1fms %5.1fx | %7.1fms %7.1fms %5.1fx | %7.1fms %5.1fx | %4s | %7.2fms %7.1fms %6.3f"
              % (size, len(cdb.read(real)), c_wall * 1e3, ours_wall * 1e3, ours_wall / c_wall,
                 c_cpu * 1e3, ours_cpu * 1e3, ours_cpu / c_cpu if c_cpu else float("nan"),
                 write_wall * 1e3, write_wall / c_wall, "yes" if identical else "NO",
                 unchanged_wall * 1e3, ours_wall * 1e3, unchanged_wall / ours_wall))
    print("ratio = ours / C; cpu = user+system CPU time (the C tool's as a child process);")
    print("ours+wr = compile plus atomic write with fsync; same = byte-identical CDB;")
    print("unchanged = recognising an unchanged rule set from the fingerprint the source file carries,")
    print("rebuild = compiling it again; u/r = their ratio (goal <= 0.333).")
    if args.profile:
        largest = max(int(s) for s in args.sizes.split(","))
        source = tcprules.render(make_rules(largest), header=False).encode("utf-8")
        profile = cProfile.Profile()
        profile.runcall(tcprules.compile_source, source)
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
