# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Gentoo atoms, USE flags and paths the roles name exist in the gentoo/gentoo snapshot that
tests/unit/data/gentoo_snapshot.yml records (issue #15, point 4).

There is no Gentoo host here: the data file holds what the tree's ebuilds say, each fact with the
ebuild line it comes from and the commit it was read at. A renamed or removed atom, a typo in a
role's vars/Gentoo.yml, or a path no package installs fails one parametrized case naming the file
and the value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SNAPSHOT = yaml.safe_load((ROOT / "tests" / "unit" / "data" / "gentoo_snapshot.yml").read_text(encoding="utf-8"))
ATOMS = SNAPSHOT["atoms"]

GENTOO_VARS = sorted(ROOT.glob("roles/*/vars/Gentoo.yml"))
# Texts where a role states a Gentoo atom or USE flag in prose: what users read.
PROSE = sorted(
    list(ROOT.glob("roles/*/meta/argument_specs.yml")) + list(ROOT.glob("roles/*/defaults/main.yml"))
    + GENTOO_VARS + list(ROOT.glob("docs/roles/*.md")) + [ROOT / "docs" / "guide-map.md", ROOT / "docs" / "flavours.md"])

# A whole value that is category/package (the form portage takes), and the same inside prose,
# where a category always has a dash (mail-mta) or is virtual.
ATOM_VALUE = re.compile(r"^[a-z0-9][a-z0-9+_.-]*/[A-Za-z0-9][A-Za-z0-9+_-]*$")
ATOM_IN_PROSE = re.compile(r"(?<![\w./-])((?:[a-z0-9]+-[a-z0-9]+|virtual)/[a-z0-9][a-z0-9+_-]*[a-z0-9])(?![\w/.-])")
# An absolute path inside a value, also in a shell command ("find /var/spool/mqueue", "2>/dev/null").
PATH_IN_VALUE = re.compile(r"(?<![^\s'\"=>])(/[\w.+-]+(?:/[\w.+-]+)*)")
USE_MENTION = re.compile(r"\bUSE=([a-z0-9][a-z0-9+_-]*)")
IUSE_LINE = re.compile(r'^[A-Z_]*IUSE[A-Z_]*="([^"]*)"$')
CONF_NAME = re.compile(r"\bconf-[a-z0-9]+(?:-[a-z0-9]+)*\b")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
# A Gentoo package version (PMS 3.2): numbers, an optional letter and suffixes, a revision.
VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|p)[0-9]*)*(-r[0-9]+)?$")


def relative(path):
    return str(path.relative_to(ROOT))


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def ebuild_path(atom, version=None):
    """The ebuild file of a version of atom (the one read when none is given), as the tree names it."""
    return "%s/%s-%s.ebuild" % (atom, atom.split("/")[1], version or ATOMS[atom]["read"])


def iuse(atom):
    """The flags of the IUSE line the data quotes, without their +/- defaults."""
    match = IUSE_LINE.match(ATOMS[atom].get("iuse_line", ""))
    return {flag.lstrip("+-") for flag in match.group(1).split()} if match else set()


def ancestors(path):
    parts = pathlib.PurePosixPath(path).parents
    return {str(parent) for parent in parts if str(parent) != "/"}


def known_paths():
    """Every path the data accounts for, with the directories installed files live in."""
    known = set()
    for entry in SNAPSHOT["installs"]:
        known.add(entry["path"])
        known.update(ancestors(entry["path"]))
    for section in ("role_created", "system_paths", "unverified"):
        known.update(entry["path"] for entry in SNAPSHOT[section])
    return known


def named(extract):
    """(file, value) pairs for parametrizing, one per distinct value a Gentoo vars file names."""
    cases = []
    for path in GENTOO_VARS:
        found = set()
        for text in strings(load(path)):
            found.update(extract(text))
        cases.extend(pytest.param(path, value, id="%s:%s" % (relative(path), value)) for value in sorted(found))
    return cases


ATOM_CASES = named(lambda text: [text] if ATOM_VALUE.match(text) else [])
PATH_CASES = named(PATH_IN_VALUE.findall)


@pytest.mark.parametrize("path, atom", ATOM_CASES)
def test_every_atom_a_gentoo_vars_file_names_has_an_ebuild(path, atom):
    absent = SNAPSHOT["absent"].get(atom)
    assert absent is None, "%s names %s, which the tree does not have; use %s" % (relative(path), atom, absent["replaced_by"])
    assert atom in ATOMS, "%s names %s, which the snapshot does not record" % (relative(path), atom)


@pytest.mark.parametrize("path, value", PATH_CASES)
def test_every_path_a_gentoo_vars_file_names_is_installed_or_accounted_for(path, value):
    assert value in known_paths(), "%s names %s, which no package in the snapshot installs" % (relative(path), value)


def test_the_gentoo_vars_files_name_atoms_and_paths_at_all():
    # The parametrized cases above pass vacuously if the collectors stop finding anything.
    assert len(GENTOO_VARS) >= 10
    assert len(ATOM_CASES) >= 20 and len(PATH_CASES) >= 15


@pytest.mark.parametrize("path", PROSE, ids=relative)
def test_atoms_and_use_flags_named_in_prose_exist(path):
    text = path.read_text(encoding="utf-8")
    atoms = set(ATOM_IN_PROSE.findall(text))
    missing = sorted(atoms - set(ATOMS))
    assert not missing, "%s names %s, not in the snapshot" % (relative(path), ", ".join(missing))
    flags = set(USE_MENTION.findall(text))
    if flags:
        offered = set().union(*(iuse(atom) for atom in atoms)) if atoms else set()
        assert flags <= offered, "%s relies on USE=%s, which %s do not have" % (
            relative(path), ",".join(sorted(flags - offered)), ", ".join(sorted(atoms)) or "no atom it names")


def test_the_default_use_flags_exist_for_every_qmail_atom():
    use = load(ROOT / "roles" / "qmail" / "defaults" / "main.yml")["qmail_emerge_use"]
    atoms = load(ROOT / "roles" / "qmail" / "vars" / "Gentoo.yml")["__qmail_emerge_atoms"]
    assert use and atoms
    for flavour, atom in atoms.items():
        assert set(use) <= iuse(atom), "qmail_emerge_use %s for %s (%s) is not in its IUSE %s" % (
            use, flavour, atom, sorted(iuse(atom)))


def services_checks():
    """(file, service, atoms that must provide it) for every service a Gentoo vars file names."""
    checks = []
    for path in GENTOO_VARS:
        data = load(path)
        file_atoms = {text for text in strings(data) if ATOM_VALUE.match(text)}
        for key, value in data.items():
            if key.endswith("_service") and isinstance(value, str):
                checks.append(pytest.param(path, value, file_atoms, id="%s:%s" % (relative(path), key)))
            if isinstance(value, list):
                for entry in value:
                    if isinstance(entry, dict) and "services" in entry:
                        checks.extend(
                            pytest.param(path, service, set(entry["packages"]), id="%s:%s:%s" % (relative(path), entry["name"], service))
                            for service in entry["services"])
    return checks


@pytest.mark.parametrize("path, service, atoms", services_checks())
def test_every_service_is_an_init_script_of_the_atoms_beside_it(path, service, atoms):
    provided = set().union(*(ATOMS[atom].get("openrc_services", []) for atom in atoms if atom in ATOMS))
    assert service in provided, "%s names the service %s; %s install %s" % (
        relative(path), service, ", ".join(sorted(atoms)), sorted(provided))


def test_the_mta_swap_list_holds_providers_of_virtual_mta():
    mtas = load(ROOT / "roles" / "mta_swap" / "vars" / "Gentoo.yml")["__mta_swap_mtas"]
    providers = set(ATOMS["virtual/mta"]["providers"])
    for mta in mtas:
        assert set(mta["packages"]) <= providers, "%s: %s is not a virtual/mta provider" % (mta["name"], mta["packages"])


# The programs each role runs from a bin-dir variable (roles/*/vars/main.yml): the directory
# alone passing the path test above would not say they are there.
BIN_DIRS = {
    ("pop3d", "__pop3d_cvm_bin_dir"): ["cvm-checkpassword", "cvm-unix", "cvm-pwfile"],
    ("smtp_auth", "__smtp_auth_cvm_bin_dir"): ["cvm-checkpassword", "cvm-pwfile"],
    ("tcpserver", "__tcpserver_bin_dir"): ["tcpserver", "tcprules"],
}


@pytest.mark.parametrize("role, name", sorted(BIN_DIRS), ids=lambda value: value)
def test_the_programs_a_role_runs_are_installed_in_its_bin_dir(role, name):
    base = load(ROOT / "roles" / role / "vars" / "Gentoo.yml")[name]
    installed = {entry["path"] for entry in SNAPSHOT["installs"]}
    for program in BIN_DIRS[(role, name)]:
        assert "%s/%s" % (base, program) in installed, "%s=%s: no package installs %s there" % (name, base, program)


def test_the_maildir_names_match_the_qmail_ebuilds():
    assert load(ROOT / "roles" / "send" / "vars" / "Gentoo.yml")["__send_maildir_name"] == SNAPSHOT["maildir_name"]["value"]
    assert load(ROOT / "roles" / "pop3d" / "vars" / "Gentoo.yml")["__pop3d_default_maildir"] == SNAPSHOT["defaultdelivery"]["value"]


def test_the_control_conf_files_the_roles_write_are_the_packaged_ones_or_their_own():
    names = set()
    for path in ROOT.glob("roles/*/tasks/*.yml"):
        names.update(CONF_NAME.findall(path.read_text(encoding="utf-8")))
    assert {"conf-common", "conf-smtpd", "conf-pop3d"} <= names
    accounted = set(SNAPSHOT["control_files"]["installed"]) | set(SNAPSHOT["control_files"]["role_created"])
    assert names <= accounted, "conf files not in the snapshot: %s" % sorted(names - accounted)


def test_poppasswd_gets_the_owner_and_mode_of_a_stable_cmd5checkpw():
    role = load(ROOT / "roles" / "smtp_auth" / "vars" / "Gentoo.yml")
    tasks = yaml.safe_load((ROOT / "roles" / "smtp_auth" / "tasks" / "accounts.yml").read_text(encoding="utf-8"))
    task = next(task for task in tasks if "poppasswd" in task["name"])
    wanted = (role["__smtp_auth_poppasswd_owner"], task["ansible.builtin.copy"]["group"], role["__smtp_auth_poppasswd_mode"])
    stable = [entry for entry in SNAPSHOT["poppasswd"] if entry["keywords"].startswith("stable")]
    assert stable
    assert wanted in [(entry["owner"], entry["group"], entry["mode"]) for entry in stable]


# The data itself: every fact carries the evidence it was taken from.

def test_the_snapshot_names_its_repository_commit_and_date():
    assert SNAPSHOT["repository"] == "gentoo/gentoo"
    assert COMMIT.match(SNAPSHOT["commit"])
    assert SNAPSHOT["date"]
    read_at = {entry["read_at"] for entry in ATOMS.values()}
    assert SNAPSHOT["commit"] in read_at, "the stated commit is not one any ebuild was read at"


@pytest.mark.parametrize("atom", sorted(ATOMS))
def test_every_atom_entry_carries_its_evidence(atom):
    entry = ATOMS[atom]
    assert entry["versions"], atom
    for version in entry["versions"]:
        assert VERSION.match(version), (atom, version)
    assert entry["read"] in entry["versions"], (atom, entry["read"])
    assert COMMIT.match(entry["read_at"]), entry["read_at"]
    flags = iuse(atom)
    assert set(entry.get("iuse", [])) <= flags, (atom, entry.get("iuse"), entry.get("iuse_line"))
    assert not set(entry.get("not_iuse", [])) & flags, atom
    lines = entry.get("service_lines", [])
    for service in entry.get("openrc_services", []):
        assert any(re.search(r"\b%s\b" % re.escape(service), line) for line in lines), (atom, service)
    for line in lines:
        words = line.split()
        if words[0] == "newinitd":
            assert words[-1] in entry["openrc_services"], (atom, line)
        elif words[0] == "doinitd":
            assert pathlib.PurePosixPath(words[-1]).name in entry["openrc_services"], (atom, line)


@pytest.mark.parametrize("entry", SNAPSHOT["installs"], ids=lambda entry: entry["path"])
def test_every_installed_path_carries_the_line_that_installs_it(entry):
    assert entry["path"].startswith("/") and entry["line"].strip()
    assert COMMIT.match(entry["read_at"])
    assert ("atom" in entry) != ("eclass" in entry), entry
    if "atom" in entry:
        evidence = ATOMS[entry["atom"]]
        assert (entry["source"], entry["read_at"]) == (ebuild_path(entry["atom"]), evidence["read_at"]), entry
    else:
        assert entry["source"] == "eclass/%s.eclass" % entry["eclass"], entry


def test_paths_outside_the_packages_say_why():
    installed_dirs = set().union(*(ancestors(entry["path"]) for entry in SNAPSHOT["installs"]))
    for section in ("role_created", "system_paths", "unverified"):
        for entry in SNAPSHOT[section]:
            assert entry["path"].startswith("/") and entry["reason"].strip(), entry
            if "parent" in entry:
                assert entry["parent"] in installed_dirs, entry


def test_absent_atoms_name_a_replacement_that_exists():
    assert SNAPSHOT["absent"]
    for atom, entry in SNAPSHOT["absent"].items():
        assert atom not in ATOMS and entry["searched"].strip()
        assert entry["replaced_by"] in ATOMS, entry


def test_the_other_evidence_is_pinned_to_commits():
    for key in ("defaultdelivery", "maildir_name"):
        assert COMMIT.match(SNAPSHOT[key]["read_at"]) and SNAPSHOT[key]["value"]
    for entry in SNAPSHOT["poppasswd"]:
        assert COMMIT.match(entry["read_at"]) and re.match(r"^0[0-7]{3}$", entry["mode"]), entry
        assert entry["ebuild"] in [ebuild_path("net-mail/cmd5checkpw", version)
                                   for version in ATOMS["net-mail/cmd5checkpw"]["versions"]], entry
