"""Bradley-Terry: closed-form check, recovery of a known ordering, seeded bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboards import add_bradley_terry, bradley_terry, build_leaderboard
from leaderboards.bradley_terry import fit_strengths
from tests.leaderboards import match


def test_two_agents_match_the_closed_form() -> None:
    wins = np.array([[0.0, 3.0], [1.0, 0.0]])
    theta = fit_strengths(wins, prior=0.0)
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-6)
    assert theta.sum() == pytest.approx(0.0, abs=1e-9)


def synthetic(true: dict[str, float], *, games: int = 30, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    names = list(true)
    records, index = [], 0
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p = 1 / (1 + math.exp(-(true[a] - true[b])))
            for _ in range(games):
                won = rng.random() < p
                records.append(match(index, a, b, 1 if won else -1))
                index += 1
    return records


TRUE = {"d": -1.5, "c": -0.5, "b": 0.5, "a": 1.5}


def test_recovers_a_known_ordering_with_intervals() -> None:
    fitted = bradley_terry(synthetic(TRUE, games=200), bootstrap=100, seed=3)
    assert fitted.agents() == ["a", "b", "c", "d"]
    for row in fitted.rows:
        assert row["bt_low"] <= row["bt"] <= row["bt_high"]
        assert row["bt"] == pytest.approx(TRUE[row["agent"]], abs=0.3)
        assert row["matches"] == 600


def test_bootstrap_is_seeded_and_order_free() -> None:
    records = synthetic(TRUE, games=10)
    first = bradley_terry(records, bootstrap=50, seed=7).to_json_obj()
    assert bradley_terry(list(reversed(records)), bootstrap=50, seed=7).to_json_obj() == first
    other = bradley_terry(records, bootstrap=50, seed=8).to_json_obj()
    assert [r["bt"] for r in other] == [r["bt"] for r in first]
    assert [r["bt_low"] for r in other] != [r["bt_low"] for r in first]


def test_unbeaten_agent_stays_finite_and_columns_join_the_leaderboard() -> None:
    records = [match(i, "champ", "chump", 5) for i in range(4)]
    board = add_bradley_terry(build_leaderboard(records), records, bootstrap=20)
    assert board.columns[-3:] == ["bt", "bt_low", "bt_high"]
    champ = board.row("champ")
    assert math.isfinite(champ["bt"]) and champ["bt"] > 0 > board.row("chump")["bt"]
    no_bootstrap = bradley_terry(records, bootstrap=0)
    assert no_bootstrap.rows[0]["bt_low"] is None
