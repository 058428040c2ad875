"""The bootstrap of ``arena compare``: measures from units, paired and independent runs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from leaderboards import compare as lc
from leaderboards.analysis_games import matrix_summary

RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)


def record(key: str, a: str, b: str, moves: list[tuple[int, int]],
           payoff: np.ndarray = RPS) -> dict:
    log = [{"actions": {a: x, b: y},
            "rewards": {a: float(payoff[x, y]), b: float(-payoff[x, y])}} for x, y in moves]
    return {"key": key, "agents": [a, b], "roles": ["player_0", "player_1"],
            "round_log": log, "status": "finished", "index": 0}


def test_best_response_units_give_the_analysis_value() -> None:
    rng = np.random.default_rng(1)
    records = [record(f"m{i}", "x", "y", [(int(rng.integers(3)) if rng.random() < .5 else 0,
                                           int(rng.integers(3))) for _ in range(30)])
               for i in range(5)]
    classes = {"player_0": "all seats", "player_1": "all seats"}
    units = lc.matrix_units(records, "x", classes=classes,
                            payoffs={"player_0": RPS, "player_1": RPS}, n_actions=3)
    summary = matrix_summary(records, "x", payoffs={"player_0": RPS, "player_1": RPS},
                             values={"player_0": 0.0, "player_1": 0.0},
                             action_names=["rock", "paper", "scissors"])
    assert units["all seats"].value() == pytest.approx(summary["all seats"]["br_conditioned"])


def test_identical_units_paired_differ_by_exactly_zero() -> None:
    units = lc.numbers_units([("e0", [1, 1, 2]), ("e1", [3, 4, 5]), ("e2", [0, 0, 0])],
                             low=0, high=5)[0]
    row = lc.difference(units, units, np.random.default_rng(0), paired=True)
    assert row["diff"] == 0 and row["lo"] == 0 and row["hi"] == 0 and not row["significant"]
    apart = lc.difference(units, units, np.random.default_rng(0), paired=False)
    assert apart["lo"] < 0 < apart["hi"]  # as if they were two samples: noise both ways


def test_paired_runs_that_visited_different_states_are_aligned_by_state() -> None:
    classes = {"player_0": "all seats", "player_1": "all seats"}
    kwargs = {"classes": classes, "payoffs": {"player_0": RPS, "player_1": RPS},
              "n_actions": 3}
    full = [record("m0", "x", "y", [(0, 1), (2, 2), (1, 0)]),
            record("m1", "x", "y", [(2, 0), (0, 0), (0, 2)])]
    partial = full[:1]  # the same config, a run stopped after one match
    a = lc.matrix_units(full, "x", **kwargs)["all seats"]
    b = lc.matrix_units(partial, "x", **kwargs)["all seats"]
    assert a.labels != b.labels
    row = lc.difference(a, b, np.random.default_rng(0), paired=True)
    assert row["lo"] is not None and row["lo"] <= row["diff"] <= row["hi"]
    same = lc.difference(b, b, np.random.default_rng(0), paired=True)
    assert same["lo"] == same["hi"] == 0


def test_a_game_of_a_thousand_actions_gets_no_interval_rather_than_hours() -> None:
    n = 1000
    payoff = np.eye(n)
    rng = np.random.default_rng(2)
    records = [record(f"m{i}", "x", "y", [(int(rng.integers(n)), int(rng.integers(n)))
                                          for _ in range(200)], payoff) for i in range(40)]
    classes = {"player_0": "all seats", "player_1": "all seats"}
    start = time.perf_counter()
    units = lc.matrix_units(records, "x", classes=classes,
                            payoffs={"player_0": payoff, "player_1": payoff}, n_actions=n)
    row = lc.difference(units["all seats"], units["all seats"], np.random.default_rng(0))
    assert row["a"] is not None and row["lo"] is None
    assert time.perf_counter() - start < 30
