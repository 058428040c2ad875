"""LiveRatings: per-game tables in finish order, fed records or MatchResult objects."""

from __future__ import annotations

from arena.records import MatchResult
from leaderboards import LiveRatings, build_leaderboard
from tests.leaderboards import match, solo


def test_each_game_has_its_own_table_and_the_latest_is_the_default() -> None:
    live = LiveRatings()
    live.add(match(0, "a", "b", 2, game="rps"))
    live.add(solo(1, "a", [[0.9], [0.8]]))
    live.add(solo(2, "c", [[0.1], [0.2]]))
    assert live.games() == ["rps", "random_number"]
    assert live.leaderboard().agents() == ["a", "c"]
    assert "reward_mean" in live.leaderboard().columns
    rps = live.leaderboard(game="rps")
    assert rps.agents() == ["a", "b"] and rps.row("a")["wins"] == 1
    assert live.leaderboard(game="chess").rows == []


def test_match_result_objects_are_accepted() -> None:
    record = match(0, "a", "b", -3)
    live = LiveRatings(draw_probability=0.2)
    live.add(MatchResult.from_dict(record))
    assert live.leaderboard().to_json_obj() == build_leaderboard(
        [record], draw_probability=0.2).to_json_obj()


def test_empty_live_ratings_render_an_empty_table() -> None:
    assert LiveRatings().leaderboard().rows == []
