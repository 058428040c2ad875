"""Config validation: every problem is one line naming the file, the key path and the fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from arena.config import (
    Gauntlet,
    RoundRobin,
    Solo,
    apply_override,
    load_config,
    parse_config,
    parse_shape,
)
from arena.config_checks import resolve_config
from arena.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def base(**changes) -> dict:
    data = {
        "name": "t",
        "seed": 3,
        "game": {"id": "rps", "rounds": 10},
        "format": {"type": "round_robin", "matches": 1},
        "agents": [{"name": "a", "type": "uniform_random"},
                   {"name": "b", "type": "frequency", "window": 5}],
    }
    data.update(changes)
    return data


def error_of(data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="cfg.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("cfg.yaml: ")
    return info.value


def test_valid_config_normalises_game_into_games():
    config = parse_config(base())
    assert [g.id for g in config.games] == ["rps"]
    assert config.games[0].args == {"rounds": 10}
    assert isinstance(config.games[0].format, RoundRobin)
    assert config.agent("b").options == {"window": 5}
    snap = config.snapshot()
    assert "game" not in snap and snap["games"][0]["args"] == {"rounds": 10}
    assert parse_config(snap).snapshot() == snap  # the stored snapshot validates again


def test_resolve_builds_a_new_config_and_leaves_the_parsed_one_alone():
    parsed = parse_shape(base())
    before = parsed.model_dump()
    config = resolve_config(parsed, source="cfg.yaml")
    assert config is not parsed and type(config) is not type(parsed)
    assert parsed.model_dump() == before
    assert parsed.game is not None and parsed.games == [] and parsed.game.format is None


def test_resolved_config_is_frozen():
    config = parse_config(base())
    with pytest.raises(ValidationError, match="frozen"):
        config.seed = 4  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        config.games[0].format = Solo(type="solo")  # type: ignore[misc]
    assert isinstance(config.games, tuple) and isinstance(config.agents, tuple)


def test_games_list_says_whether_the_file_wrote_games():
    assert parse_config(base()).games_list is False
    listed = parse_config(base(game=None, games=[{"id": "rps", "rounds": 10}]))
    assert listed.games_list is True
    assert listed.snapshot()["games_list"] is True
    assert parse_config(base()).snapshot()["games_list"] is False


@pytest.mark.parametrize("changes", [{}, {"game": None, "games": [{"id": "rps"}]},
                                     {"format": {"type": "gauntlet", "opponents": ["b"]}}])
def test_a_stored_snapshot_reads_back_as_an_equal_config(changes):
    config = parse_config(base(**changes))
    snap = json.loads(json.dumps(config.snapshot()))  # as the store keeps it
    again = parse_config(snap)
    assert again == config
    assert json.dumps(again.snapshot()) == json.dumps(snap)  # same keys, same order


def test_parse_config_leaves_its_input_alone():
    data = base()
    snap = parse_config(data).snapshot()
    assert data == base()
    parse_config(snap)
    assert "games_list" in snap


def test_apply_override_returns_new_data():
    data = base()
    changed = apply_override(data, "agents[1].window=9")
    assert changed["agents"][1]["window"] == 9
    assert data == base()


def test_formats_default_by_game_kind():
    config = parse_config(base(format=None))
    assert isinstance(config.games[0].format, RoundRobin) and config.games[0].format.matches == 1
    mixed = parse_config(base(game=None, format={"type": "round_robin", "matches": 3}, games=[
        {"id": "rps"}, {"id": "random_number"}]))
    assert mixed.games[0].format.matches == 3
    assert isinstance(mixed.games[1].format, Solo)
    err = error_of(base(game=None, games=[{"id": "rps", "format": {"type": "solo"}}]))
    assert err.path == "games[0].format.type"


def test_game_shorthand():
    assert parse_config(base(game="rps")).games[0].id == "rps"


def test_games_list_with_per_game_format():
    config = parse_config(base(game=None, games=[
        {"id": "rps", "rounds": 5},
        {"id": "random_number", "format": {"type": "solo", "episodes": 3}},
    ]) | {"game": None})
    assert isinstance(config.games[0].format, RoundRobin)
    assert isinstance(config.games[1].format, Solo) and config.games[1].format.episodes == 3


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"agents": [{"name": "a", "type": "no_such_bot"}, {"name": "b", "type": "constant"}]},
     "agents[0].type", "unknown agent type"),
    ({"agents": [{"name": "a", "type": "uniform_random"}, {"type": "constant"}]},
     "agents[1].name", "missing required key"),
    ({"seed": "seven"}, "seed", "valid integer"),
    ({"game": {"id": "rps", "rounds": 10, "colour": "red"}}, "game.colour", "unknown argument"),
    ({"game": {"id": "rps", "rounds": 0}}, "game", "rounds"),
    ({"game": {"id": "rsp"}}, "game.id", "unknown game"),
    ({"format": {"type": "knockout"}}, "format.type", "unknown format type"),
    ({"format": {"type": "round_robin", "matches": 0}}, "format.matches", "greater than"),
    ({"agents": [{"name": "a", "type": "uniform_random"},
                 {"name": "a", "type": "constant"}]}, "agents[1].name", "duplicate"),
    ({"agents": [{"name": "a", "type": "uniform_random"},
                 {"name": "b", "type": "frequency", "windw": 3}]}, "agents[1].windw", "no option"),
    ({"format": {"type": "gauntlet", "opponents": ["zed"]}}, "format.opponents[0]", "zed"),
    ({"format": {"type": "solo"}}, "format.type", "needs format type"),
    ({"colour": 1}, "colour", "unknown key"),
    ({"agent": []}, "agent", "did you mean 'agents'"),
    ({"rating": {"draw_probability": 2}}, "rating.draw_probability", "less than"),
    ({"timeout": -1}, "timeout", "must be a number of seconds > 0"),
    ({"timeout": "soon"}, "timeout", "must be a number of seconds > 0"),
    ({"name": "../../etc"}, "name", "may not contain '/'"),
    ({"name": "/tmp/x"}, "name", "may not contain '/'"),
    ({"format": {"type": "gauntlet", "opponents": ["b", "b"]}}, "format.opponents[1]",
     "listed twice"),
    ({"format": {"type": "gauntlet", "opponents": ["a", "b"]}}, "format.opponents",
     "nobody is left"),
    ({"format": {"type": "gauntlet", "opponents": ["w"]},
      "agents": [{"name": "a", "type": "uniform_random"}, {"name": "b", "type": "constant"},
                 {"name": "w", "type": "fixed_text"}]}, "format.opponents", "none of the opponents"),
])
def test_each_problem_names_its_key_path(change, path, words):
    err = error_of(base(**change))
    assert err.path == path
    assert words in str(err)
    assert "Value error" not in str(err) and "{" not in str(err)  # no pydantic internals


def test_agent_class_path_is_checked_too():
    err = error_of(base(agents=[{"name": "a", "type": "tests.arena.fault_agents:Nope"},
                                {"name": "b", "type": "constant"}]))
    assert err.path == "agents[0].type" and "no attribute" in str(err)


def test_both_or_neither_game_key():
    assert error_of(base(game=None)).path == "game"
    assert error_of(base(games=[{"id": "rps"}])).path == "game"


def test_gauntlet_and_agent_game_lists():
    config = parse_config(base(format={"type": "gauntlet", "opponents": ["b"]}))
    assert isinstance(config.games[0].format, Gauntlet)
    err = error_of(base(agents=[{"name": "a", "type": "uniform_random", "games": ["chess"]},
                                {"name": "b", "type": "constant"}]))
    assert err.path == "agents[0].games[0]"


def test_too_few_players_for_a_game():
    err = error_of(base(agents=[{"name": "a", "type": "uniform_random"},
                                {"name": "w", "type": "fixed_text"}]))
    assert "at least 2 agents" in str(err)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml: no such file"):
        load_config(tmp_path / "missing.yaml")
    bad = write(tmp_path, "name: x\nagents: [1, 2\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: invalid YAML at line \d+"):
        load_config(bad)
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(ConfigError, match=r"cannot read: .*Is a directory"):
        load_config(tmp_path)


def test_an_unreadable_file_is_one_line(tmp_path, monkeypatch):
    path = write(tmp_path, "name: x\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ConfigError, match=r"c\.yaml: cannot read: .*Permission denied"):
        load_config(path)


def test_duplicate_keys_are_errors(tmp_path):
    twice = "name: x\nseed: 1\ngame: rps\nseed: 2\nagents: []\n"
    with pytest.raises(ConfigError, match=r"line 4, column 1: duplicate key 'seed'"):
        load_config(write(tmp_path, twice))


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    text = ("name: x\ngame: {id: rps, rounds: 5}\nagents:\n"
            "  - &bot {name: a, type: frequency, window: 3}\n"
            "  - {<<: *bot, name: b, window: 9}\n")
    config = load_config(write(tmp_path, text))
    assert [(a.name, a.options["window"]) for a in config.agents] == [("a", 3), ("b", 9)]


def test_overrides_parse_yaml_values_and_reach_into_lists(tmp_path):
    path = write(tmp_path, yaml.safe_dump(base()))
    config = load_config(path, overrides=["game.rounds=7", "agents[1].window=9", "seed=11",
                                          "agents.0.name=first", "rating.draw_probability=0.2"])
    assert config.games[0].args["rounds"] == 7
    assert config.agent("b").options["window"] == 9
    assert config.seed == 11 and config.agents[0].name == "first"
    assert config.rating.draw_probability == 0.2
    with pytest.raises(ConfigError, match="no index 5"):
        load_config(path, overrides=["agents[5].name=x"])
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(path, overrides=["seed"])
    with pytest.raises(ConfigError, match=r"c\.yaml: seed: .*valid integer"):
        load_config(path, overrides=["seed=abc"])
    with pytest.raises(ConfigError, match=r"has 'game:', not 'games:'"):
        load_config(path, overrides=["games[0].rounds=5"])
    listed = write(tmp_path, yaml.safe_dump(base(game=None, games=[{"id": "rps"}])))
    with pytest.raises(ConfigError, match=r"has 'games:', not 'game:' \(write games\[0\]\.rounds\)"):
        load_config(listed, overrides=["game.rounds=5"])
    assert load_config(listed, overrides=["games[0].rounds=5"]).games[0].args == {"rounds": 5}


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml"))
                         + sorted((REPO / "configs" / "examples").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    load_config(path)
