"""Nothing an agent returns can stop a run (issue 16, items 3, 10 and 11).

A bad policy, a text that is not valid Unicode, stats that are not numbers, an error
message with a lone surrogate: each forfeits that agent's match (or is left out, for
stats) with the reason recorded, the run goes on, and the export is valid JSON. A
white-box agent cannot change its opponent's stored policy through ``opponent_policy``.

The agents below are referenced from CLI configs as
``tests.arena.test_validation_engine:BadPolicy`` and so on.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium.spaces import Discrete, Text

from arena.agent import BaseAgent
from arena.match import ERROR_CHARS, play_match
from arena.records import FINISHED, FORFEIT
from arena.seats import Forfeit, MatchState, Seat, as_probabilities
from envs import make_game

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests.arena.test_validation_engine:"

#: every way a policy can be wrong, by name, for a three-action game
BAD_POLICIES: dict[str, Any] = {
    "column": np.full((3, 1), 1 / 3),           # 2-D: "unhashable list" in the store before
    "matrix": np.full((3, 3), 1 / 9),
    "scalar": np.float64(1.0),
    "nan": np.array([np.nan, 0.5, 0.5]),
    "inf": np.array([np.inf, 0.0, 0.0]),
    "minus_inf": np.array([-np.inf, 1.0, 1.0]),
    "negative": np.array([-0.5, 0.75, 0.75]),
    "sum15": np.array([5.0, 5.0, 5.0]),
    "short": np.array([0.5, 0.5]),
    "long": np.full(200_000, 1 / 200_000),      # made a 56 MB database in 40 rounds
    "text": "uniform",
    "mapping": {"rock": 1.0},
    "ragged": [[1.0], [0.0, 0.0]],
    "objects": [object(), object(), object()],
    "complex": np.array([1j, 0.5, 0.5]),
    "empty": np.array([]),
}


class BadPolicy(BaseAgent):
    """Plays uniformly with an exact policy, then from round ``at`` returns the bad policy
    ``kind`` (one of :data:`BAD_POLICIES`) with a legal action."""

    def __init__(self, *, name: str | None = None, kind: str = "column", at: int = 3) -> None:
        super().__init__(name=name)
        self.kind, self.at = kind, at

    def decide(self, observation: Any, action_space: Any) -> Any:
        self.decisions_made += 1
        if self.decisions_made >= self.at:
            return 0, BAD_POLICIES[self.kind]
        n = int(action_space.n)
        return 0, np.full(n, 1 / n)


class OutsideBadPolicy:
    """A bare outside class (``policy`` then ``act``) with a 2-D policy from round 2."""

    name = "outside"

    def __init__(self) -> None:
        self.t = 0

    def reset(self, *, seed: int | None = None, **context: Any) -> None:
        self.t = 0

    def policy(self, observation: Any, action_space: Any) -> Any:
        return np.full((3, 1), 1 / 3) if self.t >= 1 else [1 / 3] * 3

    def act(self, observation: Any, action_space: Any) -> int:
        self.t += 1
        return 1


class Surrogate(BaseAgent):
    """A writer whose answer holds a lone surrogate (UnicodeEncodeError in the store before)."""

    kinds = frozenset({"text"})

    def act(self, observation: Any, action_space: Any) -> str:
        return "x\ud800y"


class SurrogateRaiser(BaseAgent):
    """Raises with a lone surrogate and a huge message: the error text must still store."""

    def act(self, observation: Any, action_space: Any) -> int:
        raise ValueError("bad \udcff " + "z" * 100_000)


class BadStats(BaseAgent):
    """Plays rock; its stats hold NaN, infinity, a non-text key, a surrogate and a good one."""

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        return np.eye(int(action_space.n))[0]

    def stats(self) -> dict[Any, Any]:
        return {"nan": float("nan"), "inf": float("inf"), ("a", 1): 1.0, "good": 2.0,
                "texts": ["ok", "lone \ud800"], "mixed": ["a", 1], "obj": object()}


class Tamperer(BaseAgent):
    """White box: reads the opponent's policy and writes zeros into what it was handed."""

    white_box = True

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        q = self.context["opponent_policy"]()
        if q is not None:
            q[:] = 0.0
            q[0] = 1.0
        n = int(action_space.n)
        return np.full(n, 1 / n)


class Lopsided(BaseAgent):
    """Always the same mixed policy, so a stored change would show."""

    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        return np.array([0.2, 0.3, 0.5])


class Uniform(BaseAgent):
    def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
        n = int(action_space.n)
        return np.full(n, 1 / n)


def play(a: Any, b: Any, *, rounds: int = 6, game: str = "rps") -> Any:
    env = make_game(game, rounds=rounds)
    return play_match(env, [a, b], game=game, seed=1)


def strict_json(line: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, as every other JSON reader does."""
    def refuse(token: str) -> Any:
        raise ValueError(f"not valid JSON: {token}")
    return json.loads(line, parse_constant=refuse)


# -- item 10: policies ---------------------------------------------------------------
@pytest.mark.parametrize("kind", list(BAD_POLICIES))
def test_a_bad_policy_forfeits_its_agent_with_the_reason(kind: str) -> None:
    result = play(BadPolicy(name="bad", kind=kind), Uniform(name="fair"))
    assert result.status == FORFEIT and result.forfeited_by == "bad", result.error
    assert result.error.startswith("bad: ") and "polic" in result.error
    assert result.rounds == 2  # the rounds before stay; the bad one is not logged
    assert len(result.error) < 400  # a short reason, never the whole value


@pytest.mark.parametrize(("kind", "reason"), [
    ("column", r"shape \(3, 1\)"), ("nan", "not finite"), ("inf", "not finite"),
    ("negative", "negative"), ("sum15", "sums to 15"), ("short", "2 entries for 3 actions"),
    ("long", "200000 entries for 3 actions"), ("text", "not probabilities"),
])
def test_the_reason_says_what_is_wrong(kind: str, reason: str) -> None:
    with pytest.raises(Forfeit, match=reason) as caught:
        as_probabilities(BAD_POLICIES[kind], "bad", 3)
    assert caught.value.agent == "bad"


def test_good_policies_pass_unchanged_as_plain_floats() -> None:
    for probs in (np.array([0.2, 0.3, 0.5]), [0.2, 0.3, 0.5], (1, 0, 0),
                  np.array([0.2, 0.3, 0.5], dtype=np.float32), np.array([1 / 3] * 3)):
        values = as_probabilities(probs, "ok", 3)
        assert [type(v) for v in values] == [float] * 3
        assert values == np.asarray(probs, dtype=float).tolist()
    # within the tolerance of 1e-6, and exactly 0 is fine
    assert as_probabilities([0.5, 0.5 + 5e-7, 0.0], "ok", 3)[1] == 0.5 + 5e-7
    with pytest.raises(Forfeit):
        as_probabilities([0.5, 0.5 + 5e-6, 0.0], "ok", 3)


def test_a_policy_for_a_text_action_forfeits() -> None:
    seat = Seat(type("W", (), {"act": lambda self, o, s: "hi",
                               "policy": lambda self, o, s: [1.0]})(), "w", "solo", Text(10))
    with pytest.raises(Forfeit, match="text action"):
        seat.decision(None, MatchState())


def test_the_seat_checks_the_policy_before_anyone_reads_it() -> None:
    seat = Seat(OutsideBadPolicy(), "outside", "player_0", Discrete(3))
    assert seat.decision(None, MatchState()) == (1, [1 / 3] * 3)
    with pytest.raises(Forfeit, match="shape"):
        seat.decision(None, MatchState())


def test_an_outside_class_with_a_2d_policy_forfeits_in_a_match() -> None:
    result = play(OutsideBadPolicy(), Uniform(name="fair"))
    assert result.status == FORFEIT and result.forfeited_by == "outside"
    assert result.rounds == 1


# -- item 3: nothing an agent returns stops the run -------------------------------
def test_a_lone_surrogate_in_a_text_forfeits_the_writer() -> None:
    env = make_game("creative_writing", semantic=False)
    result = play_match(env, [Surrogate(name="w")], game="creative_writing", seed=1)
    assert result.status == FORFEIT and result.forfeited_by == "w"
    assert "not valid Unicode" in result.error
    result.error.encode("utf-8")  # the reason itself stores


def test_a_str_subclass_is_stored_as_the_text_it_holds() -> None:
    class Sly(str):
        def __str__(self) -> str:
            return "x\ud800"

    seat = Seat(type("W", (), {"act": lambda self, o, s: Sly("fine")})(), "w", "solo",
                Text(10))
    action, _ = seat.decision(None, MatchState())
    assert type(action) is str and action == "fine"


def test_an_error_message_with_a_surrogate_is_stored_as_valid_bounded_text() -> None:
    result = play(SurrogateRaiser(name="r"), Uniform(name="fair"))
    assert result.status == FORFEIT and result.forfeited_by == "r"
    result.error.encode("utf-8")
    assert "\ufffd" in result.error and len(result.error) <= ERROR_CHARS + 100
    assert result.error.rstrip().endswith("z")  # the end of the message is kept


def test_bad_stats_are_left_out_and_good_ones_kept() -> None:
    result = play(BadStats(name="s"), Uniform(name="fair"))
    assert result.status == FINISHED
    stats = result.stats["s"]
    assert stats["good"] == 2.0 and stats["('a', 1)"] == 1.0
    assert stats["texts"] == ["ok", "lone \ufffd"]
    assert not {"nan", "inf", "mixed", "obj"} & set(stats)
    json.dumps(stats, allow_nan=False)


# -- item 11: white-box tampering --------------------------------------------------
def test_a_white_box_agent_cannot_change_the_stored_policy() -> None:
    result = play(Lopsided(name="open"), Tamperer(name="peek"), rounds=20)
    assert result.status == FINISHED, result.error
    for entry in result.round_log:
        assert entry["probabilities"]["open"] == [0.2, 0.3, 0.5]


def test_opponent_policy_hands_out_a_fresh_array_each_call() -> None:
    seen: list[np.ndarray] = []

    class Keep(BaseAgent):
        white_box = True

        def distribution(self, observation: Any, action_space: Any) -> np.ndarray:
            first, second = self.context["opponent_policy"](), self.context["opponent_policy"]()
            assert first is not second and not np.shares_memory(first, second)
            first[:] = -1.0
            seen.append(second)
            return np.full(3, 1 / 3)

    result = play(Lopsided(name="open"), Keep(name="peek"))
    assert result.status == FINISHED, result.error
    assert all(s.tolist() == [0.2, 0.3, 0.5] for s in seen)


# -- through the CLI: the run goes on, resumes, and exports valid JSON --------------
def arena(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("arena", path=str(Path(sys.executable).parent)) or "arena"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


def test_bad_values_through_the_cli_forfeit_and_the_export_is_valid_json(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "name: bad\nseed: 1\ngame: {id: rps, rounds: 10}\n"
        "format: {type: round_robin, matches: 1}\nagents:\n"
        f"  - {{name: column, type: '{HERE}BadPolicy', kind: column}}\n"
        f"  - {{name: nan, type: '{HERE}BadPolicy', kind: nan}}\n"
        f"  - {{name: huge, type: '{HERE}BadPolicy', kind: long}}\n"
        f"  - {{name: stats, type: '{HERE}BadStats'}}\n"
        "  - {name: fair, type: uniform_random}\n")
    run = tmp_path / "run"
    done = arena("run", str(config), "--out", str(run), "--no-live", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    again = arena("run", str(config), "--out", str(run), "--resume", "--no-live", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    exported = arena("export", str(run), "--format", "jsonl", "--rounds", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [strict_json(line) for line in exported.stdout.splitlines()]
    assert len(rows) == 20
    by_key = {r["key"]: r for r in rows}
    bad = {"column": "shape", "nan": "not finite", "huge": "200000 entries"}
    for row in rows:
        if set(row["agents"]) & set(bad):  # the first bad agent asked forfeits
            assert row["status"] == FORFEIT and bad[row["forfeited_by"]] in row["error"]
        else:
            assert row["status"] == FINISHED
    for name in bad:  # against the good agents, each forfeits all four matches
        lost = [r for r in rows if r["forfeited_by"] == name and not set(r["agents"]) - {
            name, "stats", "fair"}]
        assert len(lost) == 4, name
    for row in by_key.values():
        for entry in row.get("round_log") or []:
            for probs in entry["probabilities"].values():
                assert len(probs) == 3 and all(math.isfinite(p) and p >= 0 for p in probs)
                assert abs(sum(probs) - 1) <= 1e-6
    assert (run / "arena.db").stat().st_size < 2_000_000


def test_a_lone_surrogate_through_the_cli_forfeits_and_exports(tmp_path: Path) -> None:
    config = tmp_path / "w.yaml"
    config.write_text(
        "name: w\nseed: 1\ngame: {id: creative_writing, semantic: false}\n"
        "format: {type: solo, episodes: 2}\nagents:\n"
        f"  - {{name: odd, type: '{HERE}Surrogate'}}\n  - {{name: fixed, type: fixed_text}}\n")
    run = tmp_path / "run"
    done = arena("run", str(config), "--out", str(run), "--no-live", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    again = arena("run", str(config), "--out", str(run), "--resume", "--no-live", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    exported = arena("export", str(run), "--format", "jsonl", "--rounds", cwd=tmp_path)
    rows = {r["agents"][0]: r for r in map(strict_json, exported.stdout.splitlines())}
    assert rows["odd"]["status"] == FORFEIT and "not valid Unicode" in rows["odd"]["error"]
    assert rows["fixed"]["status"] == FINISHED
