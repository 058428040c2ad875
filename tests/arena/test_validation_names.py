"""Names that look alike or hide characters are refused (issue 16, item 8).

Every name is NFC-normalised; control, format (zero-width, bidi), separator and other
invisible characters and NUL are refused; a name may not mix Latin, Greek and Cyrillic
letters; and no two agent names of one config may share a confusable skeleton (Unicode
TS #39, with a built-in table). Each mistake is one line and exit 2 through the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from arena.config import parse_config
from arena.config_names import name_problem, skeleton
from arena.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NFC, NFD = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")


def config(*names: str, run: str = "t", **extra: object) -> dict:
    data = {"name": run, "seed": 1, "game": {"id": "rps", "rounds": 5},
            "agents": [{"name": n, "type": "cycle"} for n in names]}
    data.update(extra)
    return data


def refused(data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="c.yaml")
    return caught.value


# -- the three cases of the issue --------------------------------------------------
def test_a_zero_width_space_is_refused() -> None:
    error = refused(config("rock", "rock\u200b"))
    assert error.path == "agents[1].name" and "U+200B" in error.problem


def test_a_cyrillic_lookalike_is_refused() -> None:
    error = refused(config("rock", "\u0440ock"))  # Cyrillic er, then Latin
    assert error.path == "agents[1].name" and "Cyrillic and Latin" in error.problem
    # all Cyrillic, and looking like a Latin name: the same skeleton
    error = refused(config("poc", "\u0440\u043e\u0441"))
    assert error.path == "agents[1].name" and "looks the same as 'poc'" in error.problem


def test_nfc_and_nfd_spellings_are_one_name() -> None:
    assert NFC != NFD
    error = refused(config(NFC, NFD))
    assert error.path == "agents[1].name" and "duplicate" in error.problem
    resolved = parse_config(config(NFD, "x"))
    assert resolved.agents[0].name == NFC  # stored, shown and compared in NFC


def test_nul_is_refused() -> None:
    error = refused(config("a\0b", "c"))
    assert error.path == "agents[0].name" and "NUL" in error.problem


# -- the whole class -----------------------------------------------------------------
@pytest.mark.parametrize("char", [
    "\x1b", "\n", "\r", "\t", "\x7f", "\x85", "\u200b", "\u200c", "\u200d", "\u2060",
    "\ufeff", "\u00ad", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
    "\u2067", "\u2068", "\u2069", "\u061c", "\u200e", "\u200f", "\u2028", "\u2029",
    "\ufe0f", "\u034f", "\u3164", "\U000e0041", "\ue000", "\U0010ffff",
])
def test_hidden_and_direction_characters_are_refused_anywhere(char: str) -> None:
    for name in (f"{char}x", f"x{char}y", f"x{char}"):
        assert name_problem(name) is not None, ascii(name)
        error = refused(config(name, "other"))
        assert error.path == "agents[0].name"
        assert "\\" in str(error) and char not in str(error)  # quoted with escapes


@pytest.mark.parametrize(("a", "b"), [
    ("rock", "\uff52\uff4f\uff43\uff4b"),   # fullwidth
    ("rock", "\U0001d42b\U0001d428\U0001d41c\U0001d424"),  # mathematical bold
    ("paper", "\u0440\u0430\u0440\u0435\u0433"),  # all Cyrillic
    ("agent0", "agentO"), ("Il1", "lll"), ("modern", "rnodern"), ("wave", "vvave"),
    ("ABC", "\u0391\u0392\u0421"),  # Greek Alpha, Beta, then Cyrillic Es: mixed, refused
])
def test_lookalike_names_are_refused(a: str, b: str) -> None:
    error = refused(config(a, b))
    assert error.path == "agents[1].name"
    assert "looks the same" in error.problem or "may not mix" in error.problem


@pytest.mark.parametrize("names", [
    ("rock", "Rock"), ("café", "cafe"), ("東京", "大阪"), ("Ελληνικά", "greek"),
    ("\u0440\u043e\u043a", "rok"), ("a-b", "a_b"), ("naïve", "naive"), ("x y", "xy"),
])
def test_distinct_names_are_kept(names: tuple[str, str]) -> None:
    resolved = parse_config(config(*names))
    assert [a.name for a in resolved.agents] == [unicodedata.normalize("NFC", n)
                                                for n in names]


def test_the_skeleton_table_covers_what_it_says() -> None:
    assert skeleton("\u0430\u0435\u043e\u0440\u0441\u0443\u0445") == skeleton("aeopcyx")
    assert skeleton("\u03bf\u03bd\u03c1") == skeleton("ovp")
    assert skeleton("\uff41") == skeleton("a")
    assert skeleton("rn") == skeleton("m") and skeleton("0") == skeleton("O")
    assert skeleton("é") != skeleton("e")


def test_the_run_name_is_checked_too() -> None:
    assert refused(config("a", "b", run="x\u202ey")).path == "name"
    assert refused(config("a", "b", run="x\x1b[2J")).path == "name"
    assert refused(config("a", "b", run="\u0440ock")).path == "name"
    assert parse_config(config("a", "b", run=NFD)).name == NFC


def test_gauntlet_opponents_are_normalised_with_the_names() -> None:
    resolved = parse_config(config(NFD, "x", "y", format={"type": "gauntlet",
                                                          "opponents": [NFD]}))
    assert resolved.games[0].format.opponents == [NFC]


def test_long_names_are_refused() -> None:
    assert refused(config("a" * 101, "b")).path == "agents[0].name"
    assert refused(config("a", "b", run="r" * 101)).path == "name"


# -- through the CLI: one line, exit 2 ------------------------------------------------
@pytest.mark.parametrize("names", [
    ["rock", "rock\\u200b", "\\u0440ock"], ["rock", "\\u0440ock"], [NFC, NFD], ["a\\0b", "c"],
    ["[bold]x\\e[2J", "y"], ["two\\nlines", "x"],
])
def test_bad_names_through_the_cli_are_one_line_and_exit_2(tmp_path: Path,
                                                           names: list[str]) -> None:
    path = tmp_path / "c.yaml"
    agents = "".join(f'  - {{name: "{n}", type: cycle}}\n' for n in names)
    path.write_text(f"name: t\ngame: rps\nagents:\n{agents}", encoding="utf-8")
    exe = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([exe, "run", str(path), "--out", str(tmp_path / "run"), "--no-live"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert "\x1b" not in done.stderr and "\u200b" not in done.stderr
    assert not (tmp_path / "run").exists()
