"""Solo-task leaderboards: mean reward, Student-t interval and free-for-all TrueSkill."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboards import LiveRatings, build_solo_leaderboard
from leaderboards.solo import compact_solo_record, episode_means, mean_ci
from tests.leaderboards import solo

SOLO_KEYS = ["agent", "reward_mean", "ci_low", "ci_high", "mu", "sigma", "score", "episodes"]


def test_episode_means_group_steps_by_episode() -> None:
    record = solo(0, "a", [[1.0, 0.0], [0.5, 0.5, 0.5]])
    assert episode_means(record) == {0: 0.5, 1: 0.5}


def test_mean_and_t_interval() -> None:
    mean, low, high = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    # t(0.975, 4) = 2.7764; s = sqrt(2.5); half = 2.7764 * 1.5811 / sqrt(5) = 1.9632
    assert mean == pytest.approx(3.0)
    assert (low, high) == (pytest.approx(3 - 1.9632, abs=1e-3), pytest.approx(3 + 1.9632,
                                                                              abs=1e-3))
    assert mean_ci([0.7]) == (pytest.approx(0.7), None, None)
    assert mean_ci([0.2, 0.2, 0.2]) == (pytest.approx(0.2), pytest.approx(0.2),
                                        pytest.approx(0.2))


def series(rng: np.random.Generator, centre: float, episodes: int = 30) -> list[list[float]]:
    return [list(np.clip(rng.normal(centre, 0.05, size=10), 0, 1)) for _ in range(episodes)]


def test_free_for_all_ranks_agents_by_per_episode_reward() -> None:
    rng = np.random.default_rng(0)
    records = [solo(0, "constant", series(rng, 0.1)), solo(1, "uniform", series(rng, 0.95)),
               solo(2, "humanlike", series(rng, 0.7))]
    board = build_solo_leaderboard(records)
    assert board.agents() == ["uniform", "humanlike", "constant"]
    assert list(board.rows[0]) == SOLO_KEYS
    for row in board.rows:
        assert row["episodes"] == 30
        assert row["ci_low"] < row["reward_mean"] < row["ci_high"]
        assert row["score"] == pytest.approx(row["mu"] - 3 * row["sigma"])
    assert board.row("uniform")["reward_mean"] == pytest.approx(0.95, abs=0.02)


def test_equal_episodes_tie() -> None:
    rewards = [[0.5, 0.25], [1.0, 0.0]]
    board = build_solo_leaderboard([solo(0, "a", rewards), solo(1, "b", rewards)])
    a, b = board.row("a"), board.row("b")
    assert a["mu"] == pytest.approx(b["mu"]) and a["sigma"] == pytest.approx(b["sigma"])
    assert a["sigma"] < 25 / 3  # the draws were rated


def test_records_without_round_log_are_refused_clearly() -> None:
    record = solo(0, "a", [[0.5]])
    record["round_log"] = []
    with pytest.raises(ValueError, match="rounds=True"):
        build_solo_leaderboard([record])


def test_compact_records_and_live_ratings_match_the_full_table() -> None:
    rng = np.random.default_rng(2)
    records = [solo(i, name, series(rng, c, 8))
               for i, (name, c) in enumerate([("x", 0.3), ("y", 0.6), ("z", 0.5)])]
    full = build_solo_leaderboard(records).to_json_obj()
    assert build_solo_leaderboard([compact_solo_record(r) for r in records]).to_json_obj() == full
    live = LiveRatings()
    for record in reversed(records):
        live.add(record)
    assert live.leaderboard().to_json_obj() == full


def test_forfeited_series_and_llm_stats_add_columns() -> None:
    record = solo(0, "llm", [[0.4, 0.6]])
    record["status"], record["forfeited_by"] = "forfeit", "llm"
    record["stats"] = {"llm": {"invalid": 1, "decisions": 2, "off_mass": 0.5}}
    board = build_solo_leaderboard([record, solo(1, "bot", [[0.9, 0.9]])])
    assert board.columns == SOLO_KEYS + ["forfeits", "invalid_rate", "off_mass"]
    assert board.row("llm")["forfeits"] == 1
    assert board.row("llm")["invalid_rate"] == pytest.approx(0.5)
    assert board.row("bot")["off_mass"] is None


def test_a_forfeited_series_ranks_last_in_the_episodes_it_missed() -> None:
    quitter = solo(0, "quitter", [[1.0], [1.0]])  # best while it played, then crashed
    quitter["status"], quitter["forfeited_by"] = "forfeit", "quitter"
    steady = solo(1, "steady", [[0.5]] * 8)
    board = build_solo_leaderboard([quitter, steady])
    assert board.agents() == ["steady", "quitter"]
    assert board.row("quitter")["episodes"] == 2
    assert board.row("quitter")["reward_mean"] == pytest.approx(1.0)
