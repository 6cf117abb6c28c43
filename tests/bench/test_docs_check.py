"""scripts/docs.py --check is what keeps docs/ true: it must fail on drift and stale pages."""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS = """---
argument_specs:
  main:
    short_description: A test role
    options:
      demo_port:
        type: int
        default: 25
        description: The port.
"""


@pytest.fixture
def root(tmp_path):
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(SPECS)
    (role / "defaults" / "main.yml").write_text("---\ndemo_port: 25\n")
    (tmp_path / "plugins" / "modules").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "scripts", "docs.py"), str(tmp_path / "docs.py"))
    return tmp_path


def run(root, *args):
    env = dict(os.environ, MAILOPS_DOCS_ROOT=str(root))
    return subprocess.run([sys.executable, str(root / "docs.py"), *args], env=env,
                          capture_output=True, text=True, check=False)


def test_generated_page_lists_variable_and_then_checks_clean(root):
    assert run(root).returncode == 0
    page = (root / "docs" / "roles" / "demo.md").read_text()
    assert "| `demo_port` | int | `25` | The port. |" in page
    assert run(root, "--check").returncode == 0


def test_check_fails_when_a_page_is_stale(root):
    run(root)
    (root / "docs" / "roles" / "demo.md").write_text("hand edit\n")
    result = run(root, "--check")
    assert result.returncode == 1
    assert "docs/roles/demo.md is stale" in result.stderr


def test_check_fails_when_defaults_drift_from_argument_specs(root):
    run(root)
    (root / "roles" / "demo" / "defaults" / "main.yml").write_text("---\ndemo_port: 2525\n")
    result = run(root, "--check")
    assert result.returncode == 1
    assert "demo_port defaults to 2525 in defaults/main.yml but 25 in argument_specs" in result.stderr


def test_check_fails_on_a_page_for_a_role_that_is_gone(root):
    run(root)
    shutil.rmtree(str(root / "roles" / "demo"))
    result = run(root, "--check")
    assert result.returncode == 1
    assert "no longer exists" in result.stderr


def test_check_accepts_null_default_for_an_option_without_default(root):
    specs = root / "roles" / "demo" / "meta" / "argument_specs.yml"
    specs.write_text(SPECS + "      demo_host:\n        type: str\n        description: Optional host.\n")
    (root / "roles" / "demo" / "defaults" / "main.yml").write_text("---\ndemo_port: 25\ndemo_host: null\n")
    run(root)
    assert run(root, "--check").returncode == 0
