"""The README's code is real: every YAML block parses, and every command shown in the
"Two commands" and "The command line" sections exists with the options it uses."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
ARENA = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def commands() -> list[str]:
    """Every ``arena ...`` in backticks or bash blocks of the two sections."""
    found = []
    for title in ("Two commands", "The command line"):
        text = section(title)
        found += re.findall(r"`(arena [^`]*)`", text)
        for block in blocks(text, "bash"):
            found += [line.split("#")[0].strip() for line in block.splitlines()
                      if line.startswith("arena ")]
    return found


def test_every_yaml_block_parses() -> None:
    found = blocks(README, "yaml")
    assert found, "the README has YAML blocks"
    for block in found:
        data = yaml.safe_load(block)  # a config, or a fragment of one (a list of agents)
        assert isinstance(data, dict | list), block[:80]


def test_the_config_example_is_a_config_shape() -> None:
    example = yaml.safe_load(blocks(section("Writing a config"), "yaml")[0])
    assert all("name" in a and "type" in a for a in example["agents"])
    assert isinstance(example["plugins"], list)


def test_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    for block in blocks(section("Two commands"), "bash"):
        for line in block.splitlines():
            if line.startswith("make "):
                assert line.split()[1] in targets, line


def _path(command: str) -> list[str]:
    """The command's words up to its first argument: ``rate serve`` of a group's command."""
    words = []
    for word in command.split()[1:]:
        if not word.replace("-", "").isalpha() or not word.islower() or word.startswith("-"):
            break
        words.append(word)
    return words


def _help(command: str) -> str:
    args = [*_path(command), "--help"]
    done = subprocess.run([ARENA, *args], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "300",
                               "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout


@pytest.mark.parametrize("name", sorted({c.split()[1] for c in commands()}))
def test_every_command_and_option_in_the_readme_exists(name: str) -> None:
    for command in commands():
        if command.split()[1] != name:
            continue
        text = _help(command)
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command):
            assert option in text, (command, option)
