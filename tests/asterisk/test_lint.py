"""asterisklint (PyPI) over the shipped dialplan: no error, no warning."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.asterisk.conf import CONFIG_DIR, HERE, section


def lint(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HERE / "lint_runner.py"), command, "extensions.conf"],
                          cwd=CONFIG_DIR, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})


def test_the_dialplan_passes_asterisklint():
    result = lint("dialplan-check")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_linter_catches_a_goto_to_a_missing_context(tmp_path):
    broken = (CONFIG_DIR / "extensions.conf").read_text().replace(
        "Gosub(queue-call,s,1(ventas))", "Gosub(queue-cal,s,1(ventas))")
    (tmp_path / "extensions.conf").write_text(broken)
    result = subprocess.run([sys.executable, str(HERE / "lint_runner.py"), "dialplan-check",
                             "extensions.conf"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "E_DP_GOTO_NOCONTEXT" in result.stderr


def test_no_module_the_dialplan_needs_is_left_unloaded():
    needed = set(re.findall(r"^load => (\S+)$", lint("modules-show").stdout, re.MULTILINE))
    modules = section("modules.conf", "modules")
    assert needed and "res_agi.so" in needed and "app_amd.so" in needed
    assert modules.get("autoload") == "yes"
    assert not needed & set(modules.all("noload"))
