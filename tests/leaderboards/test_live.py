"""LiveRatings: per-game tables in finish order, fed records or MatchResult objects."""

from __future__ import annotations

from leaderboards import LiveRatings, build_leaderboard
from tests.helpers import as_result
from tests.leaderboards import match, solo


def test_each_game_has_its_own_table_and_the_latest_is_the_default() -> None:
    live = LiveRatings()
    live.add(match(0, "a", "b", 6, game="rps"))  # 6 > 2 sd of chance over 10 rounds (5.2)
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
    live.add(as_result(record))
    assert live.leaderboard().to_json_obj() == build_leaderboard(
        [record], draw_probability=0.2).to_json_obj()


def test_empty_live_ratings_render_an_empty_table() -> None:
    assert LiveRatings().leaderboard().rows == []


def test_live_and_final_tables_judge_by_the_same_margin_rule() -> None:
    # 200-round matches: 2 sd of chance is 23.1 in rock-paper-scissors
    records = [match(0, "rock", "human", 10, rounds=200), match(1, "human", "rock", -6,
                                                                rounds=200),
               match(2, "bot", "rock", 200, rounds=200), match(3, "rock", "bot", -24,
                                                               rounds=200)]
    live = LiveRatings()
    for record in records:
        live.add(record)
    final = build_leaderboard(records)
    assert live.leaderboard().to_json_obj() == final.to_json_obj()
    assert (final.row("rock")["wins"], final.row("rock")["draws"]) == (0, 2)
    assert final.row("bot")["wins"] == 2  # 24 > 23.1
    # the multiplier and each game's variance reach the live rule as they reach the final one
    for margin_sd, variance in ((0.0, 2 / 3), (3.0, 2 / 3), (2.0, 0.1)):
        live = LiveRatings(margin_sd=margin_sd, round_variance={"rps": variance})
        for record in records:
            live.add(record)
        assert live.leaderboard().to_json_obj() == build_leaderboard(
            records, margin_sd=margin_sd, round_variance=variance).to_json_obj()
    by_function = LiveRatings(round_variance=lambda game: 0.1 if game == "rps" else None)
    assert by_function.rule("rps").round_variance == 0.1
    assert by_function.rule("other").round_variance == 2 / 3  # unknown: the default
