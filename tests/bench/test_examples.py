"""The example inventories must only use variables that exist, with values the roles accept."""
import glob
import os
import re

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE_VARIABLES = {"mailops_qmail_services", "mailops_qmail_hosts", "mailops_qmail_serial"}
TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict, "path": str}


def role_options():
    options = {}
    for path in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")):
        with open(path, encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        for entry in specs.values():
            options.update(entry.get("options") or {})
    return options


def site_services():
    with open(os.path.join(REPO, "playbooks", "site.yml"), encoding="utf-8") as handle:
        text = handle.read()
    return set(yaml.safe_load(text)[0]["vars"]["__mailops_qmail_optional_roles"])


GROUP_FILES = sorted(glob.glob(os.path.join(REPO, "playbooks", "examples", "group_vars", "*.yml")))


def test_there_are_three_shapes():
    assert [os.path.basename(p) for p in GROUP_FILES] == ["null_clients.yml", "roaming_mx.yml", "single_server.yml"]


@pytest.mark.parametrize("path", GROUP_FILES, ids=os.path.basename)
def test_example_variables_are_declared_with_valid_values(path):
    options = role_options()
    with open(path, encoding="utf-8") as handle:
        variables = yaml.safe_load(handle)
    for name, value in variables.items():
        if name in SITE_VARIABLES:
            continue
        assert name in options, "%s sets %s, which no role declares" % (os.path.basename(path), name)
        spec = options[name]
        expected = TYPES.get(spec.get("type", "str"))
        if expected and not (isinstance(value, str) and "{{" in value):
            assert isinstance(value, expected), "%s: %s should be a %s" % (path, name, spec.get("type"))
        if spec.get("choices"):
            assert value in spec["choices"], "%s: %s=%r not in %s" % (path, name, value, spec["choices"])


@pytest.mark.parametrize("path", GROUP_FILES, ids=os.path.basename)
def test_example_services_exist_in_site_yml(path):
    with open(path, encoding="utf-8") as handle:
        services = yaml.safe_load(handle).get("mailops_qmail_services", [])
    assert set(services) <= site_services(), set(services) - site_services()


@pytest.mark.parametrize("path", GROUP_FILES, ids=os.path.basename)
def test_example_secrets_come_from_vault_variables(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    for match in re.finditer(r"password: (.*)", text):
        assert "vault_" in match.group(1), "%s writes a password in clear: %s" % (path, match.group(0))


def test_readme_play_uses_declared_variables_and_existing_roles():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        blocks = re.findall(r"```yaml\n(.*?)```", handle.read(), re.S)
    plays = [play for block in blocks for play in yaml.safe_load(block)]
    assert plays, "README.md shows no play"
    options = role_options()
    for play in plays:
        for name in play.get("vars", {}):
            assert name in options, "README.md sets %s, which no role declares" % name
        for role in play.get("roles", []):
            assert os.path.isdir(os.path.join(REPO, "roles", role.split(".")[-1])), role


def test_qmail_role_offers_exactly_the_flavours_the_table_knows():
    from ansible_collections.mailops.qmail.plugins.module_utils import flavours

    option = role_options()["qmail_flavour"]
    assert option["choices"] == list(flavours.FLAVOURS)
    assert option["default"] == flavours.DEFAULT_FLAVOUR
