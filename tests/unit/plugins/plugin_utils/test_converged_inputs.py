# -*- coding: utf-8 -*-
"""The fast path's inputs: the settings digest, and a snapshot that covers every path the roles name."""

from __future__ import absolute_import, division, print_function

import fnmatch
import glob
import os
import re

import pytest
import yaml

from ansible_collections.mailops.qmail.plugins.plugin_utils import converged, preflight

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLES = ["mta_swap", "send", "tls", "smtp_auth", "relay_ctrl", "content_filter", "dkim", "smtpd", "pop3d", "imapd",
         "qmtpd", "smarthost"]
# Paths the roles name that are not theirs to keep: the old MTAs' queues (read, then removed with
# the MTA), a package file copied only to install it, programs they run, and the scan directory's
# other platform.
NOT_MANAGED = ("/var/spool/dma", "/var/spool/mqueue", "/var/spool/nullmailer", "/var/cache", "/usr/bin",
               "/bin/", "/usr/sbin/nologin", "/etc/shadow",
               # ClamAV's signatures are the admin's (freshclam or their own), its socket clamd's
               "/var/lib/clamav", "/var/run/clamav")
# Directories named only in descriptions (the packages' init scripts), whose role-written files are named too.
NOT_MANAGED_DIRECTORIES = ("/etc/init.d",)


def defaults_and_vars():
    values = {}
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "defaults", "main.yml"))):
        with open(path, encoding="utf-8") as handle:
            values.update(yaml.safe_load(handle) or {})
    return values


def named_paths():
    """Every absolute path literal in the roles' defaults, vars and tasks."""
    found = set()
    for path in glob.glob(os.path.join(REPO, "roles", "*", "*", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            found.update(path.rstrip(".") for path in
                         re.findall(r"""(?<![\w.{])(/(?:etc|var|usr|service|lib)(?:/[\w.+-]+)*)""", handle.read()))
    return sorted(found)


def covered(path, roots, exclude):
    for root in roots:
        if fnmatch.fnmatchcase(path, root) or path == root or path.startswith(root.rstrip("/") + "/"):
            return not any(fnmatch.fnmatchcase(path, pattern) for pattern in exclude)
    return False


def site_spec(**overrides):
    values = defaults_and_vars()
    values.update(daemontools_scan_dir="/etc/service", send_maildir_name="Maildir", send_maildir_users=["alice"])
    values.update(overrides)
    return converged.snapshot_spec(preflight.Variables(values.__getitem__), preflight.with_dependencies(ROLES))


def test_the_snapshot_covers_every_path_the_roles_name():
    # no scan directory given: both platforms' are read
    spec = site_spec(daemontools_scan_dir="")
    missing = [path for path in named_paths()
               if not path.startswith(NOT_MANAGED) and path not in NOT_MANAGED_DIRECTORIES
               and not covered(path, spec["roots"], spec["exclude"])]
    assert missing == []


def test_paths_the_user_moves_are_followed():
    spec = site_spec(smtpd_tcprules_path="/srv/rules/smtp", tls_dir="/srv/tls", relay_ctrl_spool_dir="/srv/relay")
    for path in ("/srv/rules/smtp", "/srv/rules/smtp.cdb", "/srv/tls", "/srv/relay"):
        assert path in spec["roots"]
    assert "/srv/relay/allow/*" in spec["exclude"]
    assert spec["certificates"] == [{"path": "/srv/tls/server.crt", "renew_days": 30}]


def test_the_daemons_the_init_system_runs_are_compared():
    assert site_spec()["daemons"] == ["dovecot", "spamd"]
    assert site_spec(content_filter_clamav_enabled=True)["daemons"] == ["dovecot", "spamd", "clamav-daemon"]
    spec = converged.snapshot_spec(preflight.Variables(defaults_and_vars().__getitem__), ["send", "smtpd"])
    assert spec["daemons"] == [] and "/etc/dovecot" not in spec["roots"]


def test_the_queue_logs_and_supervise_state_are_left_out():
    spec = site_spec()
    for path in ("/var/qmail/queue", "/var/qmail/supervise/qmail-send/supervise",
                 "/var/qmail/supervise/qmail-smtpd/log/main", "/var/spool/relay-ctrl/allow/192.0.2.1"):
        assert not covered(path, spec["roots"], spec["exclude"]), path
    assert covered("/var/qmail/supervise/qmail-send/run", spec["roots"], spec["exclude"])


def test_inputs_are_role_variables_and_not_what_the_play_sets():
    names = converged.input_names(["smtpd_port", "send_admin_address", "mailops_qmail_services", "ansible_host",
                                   "smtp_auth_smtpd", "qmail_binaries_present", "mailops_qmail_preflight_roles",
                                   "__smtpd_conf_smtpd", "inventory_hostname"])
    assert names == ["mailops_qmail_services", "send_admin_address", "smtpd_port"]


def digest(values, roles=("send",), host="mx", versions=("code", "2.19")):
    return converged.settings_digest(values, list(roles), host, list(versions))


def test_the_settings_digest_is_stable_and_follows_every_input():
    base = digest({"smtpd_port": 25, "smtp_auth_accounts": [{"name": "a", "password": "s1"}]})
    assert base == digest({"smtp_auth_accounts": [{"password": "s1", "name": "a"}], "smtpd_port": 25})
    others = [digest({"smtpd_port": 26, "smtp_auth_accounts": [{"name": "a", "password": "s1"}]}),
              digest({"smtpd_port": 25, "smtp_auth_accounts": [{"name": "a", "password": "s2"}]}),
              digest({"smtpd_port": 25, "smtp_auth_accounts": [{"name": "a", "password": "s1"}]}, roles=("send", "smtpd")),
              digest({"smtpd_port": 25, "smtp_auth_accounts": [{"name": "a", "password": "s1"}]}, host="mx2"),
              digest({"smtpd_port": 25, "smtp_auth_accounts": [{"name": "a", "password": "s1"}]}, versions=("new", "2.19"))]
    assert base not in others and len(set(others)) == len(others)
    assert "s1" not in base


def test_the_collection_digest_follows_its_code(tmp_path):
    for part in ("roles", "plugins", "playbooks"):
        (tmp_path / part).mkdir()
    (tmp_path / "roles" / "main.yml").write_text("a: 1\n")
    before = converged.collection_digest(str(tmp_path))
    (tmp_path / "roles" / "main.yml").write_text("a: 2\n")
    assert converged.collection_digest(str(tmp_path)) != before
    assert len(converged.collection_digest()) == 64


@pytest.mark.parametrize("run_tags, skip_tags, check_mode, recorded", [
    (["all"], [], False, True),
    # molecule's own and a user's tags that no task of the collection carries
    (["all"], ["molecule-notest", "notest", "mine"], False, True),
    (["all"], [], True, False),
    (["smtpd"], [], False, False),
    (["all", "smtpd"], [], False, False),
    (["all"], ["send-configure"], False, False),
    (["all"], ["pop3d"], False, False),
    (["all"], ["always"], False, False),
])
def test_only_a_complete_real_run_is_recorded(run_tags, skip_tags, check_mode, recorded):
    assert (converged.incomplete_run(run_tags, skip_tags, check_mode) is None) == recorded


def test_every_role_of_the_collection_counts_for_completeness():
    assert sorted(converged.ALL_ROLES) == sorted(os.listdir(os.path.join(REPO, "roles")))
