"""TrueSkill leaderboards: ordering, determinism, pairs, forfeits and counters."""

from __future__ import annotations

import numpy as np
import pytest
import trueskill

from leaderboards import LiveRatings, build_leaderboard
from tests.leaderboards import match

JSON_KEYS = ["agent", "mu", "sigma", "score", "wins", "losses", "draws", "matches",
             "net_per_round", "forfeits"]


def round_robin(strength: dict[str, float], *, repeats: int = 3, seed: int = 0) -> list[dict]:
    """Every ordered pair plays ``repeats`` times; margin follows strength plus noise."""
    rng = np.random.default_rng(seed)
    records, index = [], 0
    for _ in range(repeats):
        for a in strength:
            for b in strength:
                if a != b:
                    margin = round(10 * (strength[a] - strength[b]) + rng.normal(0, 3))
                    records.append(match(index, a, b, margin, rounds=100))
                    index += 1
    return records


STRENGTH = {"weak": 0.0, "middle": 1.0, "strong": 2.0, "best": 3.0}


def test_stronger_agents_rank_higher() -> None:
    board = build_leaderboard(round_robin(STRENGTH))
    assert board.agents() == ["best", "strong", "middle", "weak"]
    scores = [row["score"] for row in board.rows]
    assert scores == sorted(scores, reverse=True)
    for row in board.rows:
        assert row["score"] == pytest.approx(row["mu"] - 3 * row["sigma"])
    assert list(board.rows[0]) == JSON_KEYS


def test_schedule_order_makes_the_table_independent_of_finish_order() -> None:
    records = round_robin(STRENGTH)
    expected = build_leaderboard(records).to_json_obj()
    rng = np.random.default_rng(1)
    for _ in range(3):
        shuffled = [records[i] for i in rng.permutation(len(records))]
        assert build_leaderboard(shuffled).to_json_obj() == expected


def test_finish_order_changes_live_ratings_but_not_counts() -> None:
    records = round_robin(STRENGTH)
    live_sched = LiveRatings()
    for record in records:
        live_sched.add(record)
    assert live_sched.leaderboard().to_json_obj() == build_leaderboard(records).to_json_obj()
    live = LiveRatings()
    for record in reversed(records):
        live.add(record)
    reversed_rows = {r["agent"]: r for r in live.leaderboard().rows}
    for row in build_leaderboard(records).rows:
        other = reversed_rows[row["agent"]]
        assert (other["wins"], other["losses"], other["matches"]) == (
            row["wins"], row["losses"], row["matches"])
    assert any(reversed_rows[r["agent"]]["mu"] != pytest.approx(r["mu"], abs=1e-9)
               for r in build_leaderboard(records).rows)


def test_wins_losses_draws_and_net_per_round() -> None:
    # 2 sd of chance: 16.3 over 100 rounds, 11.5 over 50, 7.3 over 20
    records = [
        match(0, "a", "b", 30, rounds=100),
        match(1, "b", "a", 0, rounds=100),    # draw
        match(2, "a", "c", -15, rounds=50),
        match(3, "c", "b", 9, rounds=20),
    ]
    rows = {r["agent"]: r for r in build_leaderboard(records).rows}
    assert (rows["a"]["wins"], rows["a"]["losses"], rows["a"]["draws"]) == (1, 1, 1)
    assert (rows["b"]["wins"], rows["b"]["losses"], rows["b"]["draws"]) == (0, 2, 1)
    assert (rows["c"]["wins"], rows["c"]["losses"], rows["c"]["draws"]) == (2, 0, 0)
    assert rows["a"]["matches"] == 3 and rows["c"]["matches"] == 2
    assert rows["a"]["net_per_round"] == pytest.approx((30 + 0 - 15) / 250)
    assert rows["b"]["net_per_round"] == pytest.approx((-30 + 0 - 9) / 220)
    assert rows["c"]["net_per_round"] == pytest.approx((15 + 9) / 70)


def test_hide_and_seek_pair_is_one_contest_won_over_both_halves() -> None:
    # a wins the first half by 12 and loses the second by 2: a wins the pair by 10 over
    # 20 rounds (2 sd of chance: 7.3).
    records = [match(0, "a", "b", 12, group="p0", game="hide_and_seek"),
               match(1, "b", "a", 2, group="p0", game="hide_and_seek")]
    rows = {r["agent"]: r for r in build_leaderboard(records).rows}
    assert rows["a"]["matches"] == rows["b"]["matches"] == 1
    assert (rows["a"]["wins"], rows["b"]["losses"]) == (1, 1)
    assert rows["a"]["net_per_round"] == pytest.approx((12 - 2) / 20)
    tied = [match(0, "a", "b", 2, group="p0"), match(1, "b", "a", 2, group="p0")]
    rows = {r["agent"]: r for r in build_leaderboard(tied).rows}
    assert rows["a"]["draws"] == rows["b"]["draws"] == 1


def test_half_a_pair_is_pending_and_live_rates_on_the_second_half() -> None:
    first = match(0, "a", "b", 12, group="p0")
    board = build_leaderboard([first])
    assert all(r["matches"] == 0 for r in board.rows)
    live = LiveRatings()
    live.add(match(1, "b", "a", 2, group="p0"))  # second half finishes first
    assert all(r["matches"] == 0 for r in live.leaderboard().rows)
    live.add(first)
    assert live.leaderboard().row("a")["wins"] == 1


def test_forfeit_loses_and_is_counted() -> None:
    # b was ahead when it crashed: it still loses, and its partial score is not counted.
    records = [match(0, "a", "b", -4, forfeited_by="b", rounds=5), match(1, "a", "b", 8)]
    rows = {r["agent"]: r for r in build_leaderboard(records).rows}
    assert (rows["a"]["wins"], rows["b"]["losses"]) == (2, 2)
    assert (rows["a"]["forfeits"], rows["b"]["forfeits"]) == (0, 1)
    assert rows["a"]["net_per_round"] == pytest.approx(8 / 10)
    pair = [match(0, "a", "b", 5, group="p"), match(1, "b", "a", 0, group="p", forfeited_by="a")]
    rows = {r["agent"]: r for r in build_leaderboard(pair).rows}
    assert (rows["a"]["losses"], rows["a"]["forfeits"], rows["b"]["wins"]) == (1, 1, 1)


def test_forfeit_without_culprit_is_void() -> None:
    record = match(0, "a", "b", 0)
    record["status"] = "forfeit"
    rows = build_leaderboard([record]).rows
    assert all(r["matches"] == 0 and r["forfeits"] == 0 for r in rows)


def test_draw_probability_is_configurable_without_touching_the_global_env() -> None:
    before = trueskill.global_env().draw_probability
    records = [match(0, "a", "b", 0), match(1, "a", "c", 9)]
    low = build_leaderboard(records, draw_probability=0.01).row("a")
    high = build_leaderboard(records, draw_probability=0.5).row("a")
    assert low["mu"] != pytest.approx(high["mu"])
    assert trueskill.global_env().draw_probability == before


def test_agent_stats_add_invalid_rate_and_off_mass_columns() -> None:
    plain = build_leaderboard([match(0, "a", "b", 1)])
    assert "invalid_rate" not in plain.columns and "off_mass" not in plain.rows[0]
    stats = {"llm": {"invalid": 3, "decisions": 20, "off_mass": 2.0}}
    records = [match(0, "llm", "b", 1, stats=stats), match(1, "b", "llm", 1, stats=stats)]
    board = build_leaderboard(records)
    assert board.columns[-2:] == ["invalid_rate", "off_mass"]
    assert board.row("llm")["invalid_rate"] == pytest.approx(6 / 40)
    assert board.row("llm")["off_mass"] == pytest.approx(4 / 40)
    assert board.row("b")["invalid_rate"] is None
