"""Plugins that fail while being imported: one line naming them, exit 2, escaped text."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.registry import RegistryError, get_agent_class, load_file
from tests.test_cli import BOTS, arena, write_config


@pytest.mark.parametrize("code", ["0", "None", "'bye'", "3"])
def test_a_plugin_that_exits_on_import_is_an_error_naming_it(tmp_path: Path, code: str):
    plugin = tmp_path / "exits.py"
    plugin.write_text(f"import sys\nsys.exit({code})\n")
    with pytest.raises(RegistryError, match=r"cannot load .*exits\.py.*: it called "
                                            r"sys\.exit\(.*\) while being imported"):
        load_file(str(plugin))
    with pytest.raises(RegistryError, match="while being imported"):
        get_agent_class(f"{plugin}:Bot")


def test_a_module_that_exits_on_import_is_an_error_naming_it(tmp_path: Path, monkeypatch):
    (tmp_path / "exiting_bots_module.py").write_text("raise SystemExit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RegistryError, match=r"'exiting_bots_module'.*sys\.exit\(0\)"):
        get_agent_class("exiting_bots_module:Bot")


def test_arena_run_with_a_plugin_that_exits_says_so_in_one_line(tmp_path: Path):
    plugin = tmp_path / "exits.py"
    plugin.write_text("import sys\nsys.exit(0)\n")
    config = write_config(tmp_path / "c.yaml", BOTS[:2], plugins=[str(plugin)])
    done = arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live")
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arena: error: ")
    assert "exits.py" in lines[0] and "sys.exit(0)" in lines[0]
    assert not (tmp_path / "run" / "arena.db").exists()


def test_a_plugins_exception_text_is_escaped_in_the_error_line(tmp_path: Path):
    plugin = tmp_path / "loud.py"
    plugin.write_text("raise ValueError('\\x1b[31mred\\x1b]0;title\\x07 \\u202egnp.exe')\n")
    config = write_config(tmp_path / "c.yaml", BOTS[:2], plugins=[str(plugin)])
    for done in (arena("run", str(config), "--out", str(tmp_path / "run"), "--no-live"),
                 arena("agents", "--plugin", str(plugin))):
        assert done.returncode == 2
        assert "\x1b" not in done.stderr and "\x07" not in done.stderr
        assert "\u202e" not in done.stderr
        assert "\\x1b[31mred" in done.stderr and "\\u202e" in done.stderr
