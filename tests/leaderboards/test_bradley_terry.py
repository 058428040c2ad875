"""Bradley-Terry: closed-form check, recovery of a known ordering, seeded bootstrap,
1,000 resamples of matches by default, outcomes by the margin rule."""

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
                # 10 of 10 rounds: beyond 2 sd of chance (5.2), a decisive result
                records.append(match(index, a, b, 10 if won else -10))
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
    records = [match(i, "champ", "chump", 8) for i in range(4)]
    board = add_bradley_terry(build_leaderboard(records), records, bootstrap=20)
    assert board.columns[-3:] == ["bt", "bt_low", "bt_high"]
    champ = board.row("champ")
    assert math.isfinite(champ["bt"]) and champ["bt"] > 0 > board.row("chump")["bt"]
    no_bootstrap = bradley_terry(records, bootstrap=0)
    assert no_bootstrap.rows[0]["bt_low"] is None


def test_default_is_1000_resamples_of_matches() -> None:
    import inspect

    from leaderboards.bradley_terry import BOOTSTRAP

    assert BOOTSTRAP == 1000
    assert inspect.signature(bradley_terry).parameters["bootstrap"].default == 1000
    assert inspect.signature(add_bradley_terry).parameters["bootstrap"].default == 1000
    records = synthetic(TRUE, games=5)
    fitted = bradley_terry(records, seed=1)
    for row in fitted.rows:
        assert row["bt_low"] < row["bt"] < row["bt_high"]


def test_batched_bootstrap_equals_one_fit_per_resample() -> None:
    from leaderboards.bradley_terry import _bootstrap, _wins_matrix

    rng = np.random.default_rng(0)
    ia, ib = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
    keep = ia != ib
    ia, ib = ia[keep], ib[keep]
    outcome = rng.choice([-1.0, 0.0, 1.0], size=len(ia))
    batched = _bootstrap(ia, ib, outcome, 4, resamples=30, seed=5, prior=0.5)
    picks = np.random.default_rng(5).integers(0, len(ia), size=(30, len(ia)))
    for k, pick in enumerate(picks):
        one = fit_strengths(_wins_matrix(ia[pick], ib[pick], outcome[pick], 4), prior=0.5,
                            tol=1e-6)
        assert batched[k] == pytest.approx(one, abs=1e-4)  # both within the tolerance


def test_narrow_margins_are_draws_for_bradley_terry_too() -> None:
    # a beats b by 10 of 200 rounds each time: within chance (2 sd = 23.1), so draws
    records = [match(i, "a", "b", 10, rounds=200) for i in range(6)]
    fitted = bradley_terry(records, bootstrap=0)
    assert fitted.row("a")["bt"] == pytest.approx(0.0, abs=1e-9)
    plain = bradley_terry(records, bootstrap=0, margin_sd=0)  # the old rule: any margin wins
    assert plain.row("a")["bt"] > 1
    wider = bradley_terry(records, bootstrap=0, round_variance=0.01)  # a quieter game
    assert wider.row("a")["bt"] == pytest.approx(plain.row("a")["bt"])


def test_a_hide_and_seek_pair_is_one_resampled_unit() -> None:
    pairs = []
    for i in range(5):
        pairs += [match(2 * i, "a", "b", 30, rounds=100, group=f"p{i}", game="hide_and_seek"),
                  match(2 * i + 1, "b", "a", -10, rounds=100, group=f"p{i}",
                        game="hide_and_seek")]
    fitted = bradley_terry(pairs, bootstrap=50)
    assert fitted.row("a")["matches"] == 5  # five pairs, not ten matches
    assert fitted.row("a")["bt"] > 0 > fitted.row("b")["bt"]
