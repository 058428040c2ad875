"""A fuzz test of the config loader with random Unicode names (issue 16, Done-when).

Whatever the names, loading a config either succeeds -- and then every name is in NFC,
holds no hidden or direction-changing character, no two agent names look alike, and the
names show literally -- or fails with one ``ConfigError`` line. Never another exception.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.config import load_config, parse_config
from arena.config_names import name_problem, skeleton
from arena.errors import ConfigError
from leaderboards.table import visible

#: names from every corner of Unicode, lookalikes and hidden characters made likely
TRICKY = st.sampled_from(["r", "o", "c", "k", "\u0440", "\u043e", "\u0441", "\u200b",
                          "\u202e", "\x1b", "\n", "\0", "e\u0301", "\u00e9", "[", "]", "/",
                          " ", "0", "O", "l", "1", "I", "\uff52", "\ud800", "\ufeff"])
NAME = st.lists(st.one_of(st.characters(), TRICKY), min_size=1, max_size=12).map("".join)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def data(run: str, names: list[str]) -> dict:
    return {"name": run, "seed": 1, "game": {"id": "rps", "rounds": 3},
            "agents": [{"name": n, "type": "cycle"} for n in names]}


def check_loaded(config: object) -> None:
    names = [a.name for a in config.agents]  # type: ignore[attr-defined]
    for name in [*names, config.name]:  # type: ignore[attr-defined]
        assert unicodedata.normalize("NFC", name) == name
        assert name_problem(name) is None
        assert visible(name) == name  # nothing hidden: shown exactly as it is
    assert len({skeleton(n) for n in names}) == len(names)


@SETTINGS
@given(run=NAME, names=st.lists(NAME, min_size=2, max_size=5))
def test_the_loader_accepts_safe_names_or_says_why_in_one_line(run: str,
                                                              names: list[str]) -> None:
    try:
        config = parse_config(data(run, names), source="fuzz.yaml")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml: ")
        assert "\n" not in message and "\x1b" not in message
        return
    check_loaded(config)


@SETTINGS
@given(names=st.lists(NAME, min_size=2, max_size=4))
def test_yaml_files_with_random_names_load_or_fail_in_one_line(tmp_path_factory: object,
                                                               names: list[str]) -> None:
    folder = Path(tmp_path_factory.mktemp("fuzz"))  # type: ignore[attr-defined]
    path = folder / "fuzz.yaml"
    try:
        text = yaml.safe_dump(data("fuzz", names), allow_unicode=True)
        path.write_text(text, encoding="utf-8")
    except (UnicodeEncodeError, yaml.YAMLError):  # lone surrogates cannot be written
        path.write_bytes(yaml.safe_dump(data("fuzz", names)).encode("utf-8", "replace"))
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    check_loaded(config)


@SETTINGS
@given(name=NAME)
def test_a_name_and_its_lookalike_never_both_load(name: str) -> None:
    twin = "".join({"o": "\u043e", "c": "\u0441", "p": "\u0440", "a": "\u0430"}.get(c, c)
                   for c in name)
    if twin == name:
        twin = unicodedata.normalize("NFD", name) if unicodedata.normalize(
            "NFD", name) != name else name + "\u200b"
    try:
        parse_config(data("t", [name, twin]))
    except ConfigError:
        return
    raise AssertionError(f"{ascii(name)} and {ascii(twin)} both loaded")
