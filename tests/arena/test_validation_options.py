"""Bad option values are caught when the config loads, not as forfeits (issue 16, item 13).

``arena run`` builds every agent and resets a fresh one once per game (and seat) it is
seated in, with that game's real reset context; an agent checks there what depends on
the game. NaN is refused in any option or game argument. Each is one line, exit 2,
naming ``agents[i].<option>``, before any match is played.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agents.biased import Biased
from agents.constant import Constant
from arena.agent import BaseAgent
from arena.config import parse_config
from arena.errors import ConfigError
from arena.launch import probe_agents
from tests.helpers import quickstart_bots

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests.arena.test_validation_options:"


def config(agent: dict, *, games: list | None = None, **extra: Any) -> Any:
    data = {"name": "t", "seed": 1,
            "games": games or [{"id": "rps", "rounds": 5},
                               {"id": "hide_and_seek", "rounds": 5}],
            "agents": [{"name": "a", "type": "uniform_random"},
                       {"name": "b", "type": "cycle"}, {"name": "x", **agent}]}
    data.update(extra)
    return parse_config(data, source="c.yaml")


def probe_error(agent: dict, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        probe_agents(config(agent, **kwargs), "c.yaml")
    return caught.value


# -- the two cases of the issue ----------------------------------------------------
def test_constant_action_99_is_a_config_error() -> None:
    error = probe_error({"type": "constant", "action": 99})
    assert error.path == "agents[2].action"
    assert "in rps" in error.problem and "out of range for 3 actions" in error.problem


def test_biased_weights_with_nan_are_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        config({"type": "biased", "weights": [float("nan"), 1, 1]})
    assert caught.value.path == "agents[2].weights[0]" and "NaN" in caught.value.problem
    with pytest.raises(ValueError, match="finite"):  # the class alone refuses it too
        Biased(weights=[float("nan"), 1, 1])


# -- the whole class: checked against every game the agent plays -------------------
@pytest.mark.parametrize(("agent", "path", "where"), [
    ({"type": "constant", "action": 4}, "agents[2].action", "in rps"),  # fits hide_and_seek
    ({"type": "constant", "action": "kitchen"}, "agents[2].action", "in rps"),
    ({"type": "constant", "action": "rock"}, "agents[2].action", "in hide_and_seek"),
    ({"type": "biased", "weights": [1, 1, 1, 1]}, "agents[2].weights", "in rps"),
    ({"type": "biased", "weights": {"lizard": 1.0}}, "agents[2].weights", "in rps"),
    ({"type": "cycle", "step": 3}, "agents[2].step", "in rps"),
    ({"type": "cycle", "step": 5}, "agents[2].step", "in hide_and_seek"),
    ({"type": "humanlike", "favourite": 7}, "agents[2].favourite", "in rps"),
])
def test_an_option_that_does_not_fit_a_game_it_plays_is_a_config_error(
        agent: dict, path: str, where: str) -> None:
    error = probe_error(agent)
    assert error.path == path and where in error.problem, error


def test_limiting_the_games_makes_the_same_option_fine() -> None:
    probe_agents(config({"type": "constant", "action": 4, "games": ["hide_and_seek"]}), "c")
    probe_agents(config({"type": "constant", "action": "kitchen", "games": ["hide_and_seek"]}),
                 "c")
    probe_agents(config({"type": "biased", "weights": [0, 0, 0, 0, 1],
                         "games": ["hide_and_seek"]}), "c")


def test_solo_games_are_checked_with_their_own_context() -> None:
    games = [{"id": "random_number", "low": 0, "high": 5, "format": {"type": "solo"}}]
    error = probe_error({"type": "constant", "action": 9}, games=games)
    assert error.path == "agents[2].action" and "in random_number" in error.problem
    probe_agents(config({"type": "constant", "action": 5}, games=games), "c")


def test_the_options_the_class_can_check_alone_fail_on_construction() -> None:
    for action in (1.5, True, -1):
        with pytest.raises(ValueError, match="action must be"):
            Constant(action=action)
    for weights in ([float("inf"), 1.0], [0, 0], [-1, 2]):
        with pytest.raises(ValueError, match="weights must be"):
            Biased(weights=weights)


@pytest.mark.parametrize("args", [{"rounds": float("nan")}, {"graph": "house",
                                                              "search_radius": float("nan")}])
def test_nan_in_a_game_argument_is_refused(args: dict) -> None:
    with pytest.raises(ConfigError) as caught:
        config({"type": "cycle"}, games=[{"id": "hide_and_seek", **args}])
    assert caught.value.path.startswith("games[0].") and "NaN" in caught.value.problem


def test_nan_deep_in_an_option_is_refused_with_its_path() -> None:
    with pytest.raises(ConfigError) as caught:
        config({"type": "hedge", "match_lengths": [4, {"x": [1, float("nan")]}]})
    assert caught.value.path == "agents[2].match_lengths[1].x[1]"


class FailsInReset(BaseAgent):
    """An outside agent with no options that fails in reset: nothing in the config is to
    blame, so the run goes on and its matches record the forfeit (as before)."""

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        raise ValueError("my own bug")


class Slow(BaseAgent):
    """An agent whose first decision would take a long time: the check never asks for one.

    The probe swallows whatever an agent raises (a failure in play is a forfeit, not a
    config error), so a decision asked for is recorded here, where the test looks.
    """

    resets: ClassVar[list[str]] = []
    asked: ClassVar[list[str]] = []

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        Slow.resets.append(str(context.get("game")))
        super().reset(seed=seed, **context)

    def distribution(self, observation: Any, action_space: Any) -> Any:
        Slow.asked.append(str(self.name))
        raise AssertionError("the config check must not ask for a decision")


def test_agent_failures_no_option_explains_are_left_to_the_matches() -> None:
    probe_agents(config({"type": f"{HERE}FailsInReset"}), "c")


def test_the_config_check_never_asks_for_a_decision() -> None:
    Slow.resets.clear()
    Slow.asked.clear()
    probe_agents(config({"type": f"{HERE}Slow"}), "c")
    assert Slow.resets  # the probe did build and reset it...
    assert Slow.asked == []  # ...and asked for nothing


def test_the_config_check_is_quick() -> None:
    import time

    quickstart = ROOT / "configs" / "quickstart.yaml"
    # its bots: the language models load their tokenizers (and are converted once)
    loaded = parse_config(quickstart_bots(), source=str(quickstart))
    started = time.process_time()
    probe_agents(loaded, str(quickstart))
    assert time.process_time() - started < 2.0


# -- through the CLI ----------------------------------------------------------------
@pytest.mark.parametrize(("option", "path"), [
    ("type: constant, action: 99", "agents[2].action"),
    ("type: biased, weights: [.nan, 1, 1]", "agents[2].weights[0]"),
])
def test_through_the_cli_one_line_exit_2_and_no_run(tmp_path: Path, option: str,
                                                    path: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: t\ngame: {id: rps, rounds: 5}\nagents:\n"
                   "  - {name: a, type: uniform_random}\n  - {name: b, type: cycle}\n"
                   f"  - {{name: x, {option}}}\n")
    exe = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
    done = subprocess.run([exe, "run", str(cfg), "--out", str(tmp_path / "run"), "--no-live"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert f"c.yaml: {path}: " in done.stderr
    assert not (tmp_path / "run").exists()


# -- YAML's `true` is not a number (issue 20) ------------------------------------------
@pytest.mark.parametrize(("extra", "path"), [
    ({"memory": {"max_models": True}}, "memory.max_models"),
    ({"memory": {"max_gb": True}}, "memory.max_gb"),
    ({"seed": True}, "seed"),
    ({"concurrency": False}, "concurrency"),
    ({"rating": {"margin_sd": True}}, "rating.margin_sd"),
    ({"rating": {"draw_probability": False}}, "rating.draw_probability"),
    ({"format": {"type": "round_robin", "matches": True}}, "format.matches"),
])
def test_a_boolean_is_refused_for_a_numeric_setting(extra: dict, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config({"type": "cycle"}, **extra)
    assert caught.value.path == path and "must be a number, not" in caught.value.problem


@pytest.mark.parametrize(("agent", "option"), [
    ({"type": "llm", "model": "m", "engine": "openai", "base_url": "http://h:1/v1",
      "request_retries": True}, "request_retries"),
    ({"type": "llm", "model": "m", "engine": "openai", "base_url": "http://h:1/v1",
      "max_in_flight": True}, "max_in_flight"),
    ({"type": "llm", "model": "m", "temperature": False}, "temperature"),
])
def test_a_boolean_is_refused_for_a_numeric_agent_option(agent: dict, option: str) -> None:
    """Checked against the constructor's declared types, for every agent type alike."""
    with pytest.raises(ConfigError) as caught:
        config(agent)
    assert caught.value.path == f"agents[2].{option}"
    assert caught.value.problem == "must be a number, not " + str(agent[option]).lower()


def test_a_boolean_stays_welcome_where_one_is_declared() -> None:
    config({"type": "llm", "model": "m", "trust_remote_code": True})
