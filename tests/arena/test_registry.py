"""The agent registry: names, did-you-mean, options, the module:Class route and plugins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arena import registry
from arena.agent import Agent, BaseAgent
from arena.registry import (
    RegistryError,
    can_play,
    check_options,
    describe,
    get_agent_class,
    make_agent,
    register_agent,
    registered,
)
from envs import GAMES, KINDS
from tests.helpers import play

BASELINES = {"uniform_random", "constant", "cycle", "biased", "copy_opponent", "beat_last",
             "never_repeat", "sequence", "humanlike", "fixed_text", "template_writer"}


class MirrorBot(BaseAgent):
    """Plays the action after the opponent's last one (defined in a test module)."""

    def __init__(self, *, name: str | None = None, shift: int = 1) -> None:
        super().__init__(name=name)
        self.shift = shift

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = self.n_actions(action_space)
        last = self.last_moves(observation)
        return np.full(n, 1 / n) if last is None else np.eye(n)[(last[1] + self.shift) % n]


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    """A private copy of the registry whose discovery runs again (plugins re-read)."""
    registry._discover()  # the built-ins register once, on import; keep them in the copy
    copy = {k: v for k, v in registry._REGISTRY.items()
            if not isinstance(v, registry._LazyEntryPoint)}
    monkeypatch.setattr(registry, "_REGISTRY", copy)
    monkeypatch.setattr(registry, "_DISCOVERED", False)
    return copy


def test_every_baseline_is_listed_with_kinds_and_a_description() -> None:
    agents = registered()
    assert BASELINES <= set(agents)
    for key in BASELINES:
        cls = agents[key]
        assert get_agent_class(key) is cls and type(make_agent(key, name="x")) is cls
        assert describe(cls) and "\n" not in describe(cls)
        assert cls.kinds and cls.kinds <= set(KINDS), f"{key} should declare its kinds of game"
        assert [g for g in GAMES if can_play(cls, g)], f"{key} plays no game"
        assert isinstance(cls(name="x"), Agent)
    playable = {key: {g for g in GAMES if can_play(agents[key], g)}
                for key in ("constant", "uniform_random", "cycle", "fixed_text")}
    assert playable == {"constant": {"rps", "hide_and_seek", "random_number"},
                        "uniform_random": {"rps", "hide_and_seek", "random_number"},
                        "cycle": {"rps", "hide_and_seek"}, "fixed_text": {"creative_writing"}}


def test_unknown_type_suggests_close_names() -> None:
    with pytest.raises(RegistryError, match=r"unknown agent type 'uniform_randm'; "
                                            r"did you mean 'uniform_random'"):
        get_agent_class("uniform_randm")
    with pytest.raises(RegistryError, match="humanlike"):
        make_agent("humanlik", name="h")
    with pytest.raises(RegistryError, match="package.module:ClassName"):
        get_agent_class("some.module.Bot")


def test_unknown_option_names_the_key() -> None:
    with pytest.raises(RegistryError, match=r"'constant' has no option 'acton' \(options: action"):
        make_agent("constant", name="c", acton=1)
    with pytest.raises(RegistryError, match="no option 'colour'"):
        check_options("cycle", {"colour": 1})
    # a bad value is reported with the agent's name and type, not as a traceback
    with pytest.raises(RegistryError, match=r"agent 'b' \(biased\): weights"):
        make_agent("biased", name="b", weights=[])
    assert make_agent("cycle", name="c", step=2).name == "c"


def test_module_class_route_runs_a_bot_from_a_test_module() -> None:
    path = f"{__name__}:MirrorBot"
    assert get_agent_class(path) is MirrorBot
    bot = make_agent(path, name="mirror", shift=1)
    result = play(bot, make_agent("constant", name="rock"), rounds=200)
    assert result["mirror"] > 0.98  # paper after rock, from round 2 on
    with pytest.raises(RegistryError, match="no option 'shfit'"):
        make_agent(path, name="m", shfit=2)
    with pytest.raises(RegistryError, match="has no attribute 'Nope'"):
        get_agent_class(f"{__name__}:Nope")
    with pytest.raises(RegistryError, match="cannot import module"):
        get_agent_class("no_such_module_xyz:Bot")
    with pytest.raises(RegistryError, match="not an agent class"):
        get_agent_class(f"{__name__}:BASELINES")


class BareBot:
    """The bare protocol, no ``name`` argument: a class attribute, or none at all."""

    name = "bare"

    def __init__(self, move: int = 1) -> None:
        self.move = move

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        pass

    def act(self, observation: Any, action_space: Any) -> int:
        return self.move


class NoInitBot:
    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        pass

    def act(self, observation: Any, action_space: Any) -> int:
        return 0


def test_a_class_without_a_name_argument_gets_its_name_set() -> None:
    bot = make_agent(f"{__name__}:BareBot", name="mine", move=2)
    assert (bot.name, bot.move, BareBot.name) == ("mine", 2, "bare")
    assert make_agent(f"{__name__}:NoInitBot", name="plain").name == "plain"
    result = play(bot, make_agent("constant", name="rock"), rounds=20)
    assert result["mine"] == -1.0  # scissors against rock, every round
    with pytest.raises(RegistryError, match=r"no option 'mvoe' \(options: move\)"):
        make_agent(f"{__name__}:BareBot", name="m", mvoe=2)


def test_registering_two_classes_under_one_name_is_an_error(fresh_registry: dict) -> None:
    register_agent("twice")(MirrorBot)
    register_agent("twice")(MirrorBot)  # the same class again (a re-import) is fine

    class Other(MirrorBot):
        """Another class."""

    with pytest.raises(RegistryError, match="registered twice"):
        register_agent("twice")(Other)


def make_plugin(root: Path) -> None:
    """A tiny installed distribution: its module plus a dist-info with an entry point."""
    (root / "arena_test_plugin.py").write_text(textwrap.dedent('''
        import numpy as np
        from arena.agent import BaseAgent

        class PluginBot(BaseAgent):
            """Always plays the last action (installed as a plugin)."""

            kinds = frozenset({"matrix"})

            def distribution(self, observation, action_space):
                n = self.n_actions(action_space)
                return np.eye(n)[n - 1]
        '''))
    info = root / "arena_test_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: arena-test-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[arena.agents]\n"
                                           "plugin_bot = arena_test_plugin:PluginBot\n")


def test_plugin_entry_point_is_found_lazily_and_plays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: dict) -> None:
    make_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "arena_test_plugin", raising=False)
    with pytest.raises(RegistryError, match="did you mean 'plugin_bot'"):
        get_agent_class("plugin_bto")
    assert "arena_test_plugin" not in sys.modules  # listed, not imported, until used
    cls = get_agent_class("plugin_bot")
    assert cls.__name__ == "PluginBot" and "arena_test_plugin" in sys.modules
    assert can_play(cls, "rps") and not can_play(cls, "random_number")  # its kinds
    assert describe(registered()["plugin_bot"]) == "Always plays the last action (installed as a plugin)."
    result = play(make_agent("plugin_bot", name="plug"), make_agent("constant", name="rock"),
                  rounds=50)
    assert result["plug"] == -1.0  # scissors against rock, every round
    monkeypatch.delitem(sys.modules, "arena_test_plugin")


def test_broken_plugin_reports_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        fresh_registry: dict) -> None:
    info = tmp_path / "arena_broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: arena-broken-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[arena.agents]\nbroken_bot = not_there_xyz:Bot\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RegistryError, match="plugin agent 'broken_bot'"):
        get_agent_class("broken_bot")
