"""Tier 11: The README's two fresh-machine commands stay true: the test command is the one CI runs."""
import re

from compat_tests.conftest import ROOT


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [ln.strip() for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_opens_with_reproduce_and_test_commands():
    cmds = _readme_commands()
    assert any("tfrepro reproduce" in c for c in cmds)
    assert any("pytest compat_tests" in c for c in cmds)


def test_ci_runs_the_readme_test_command():
    test_cmd = next(c for c in _readme_commands() if "pytest compat_tests" in c)
    pytest_part = test_cmd[test_cmd.index("python -m pytest"):]
    ci = (ROOT / ".ci" / "run").read_text()
    assert pytest_part in ci
    assert "pip install --quiet -r requirements.txt -e ." in ci
