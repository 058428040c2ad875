"""The statistics of people's judgements, on small hand-made data."""

from __future__ import annotations

import pytest

from leaderboards.human_judgements import (
    alpha,
    consistency,
    criteria_spearman,
    human_summary,
    win_rates,
)


def j(rater: str, pid: str, criterion: str, choice: str, left: str = "a", right: str = "b",
      repeat_of: str | None = None) -> dict:
    return {"rater": rater, "pair_id": pid, "criterion": criterion, "choice": choice,
            "left": left, "right": right, "repeat_of": repeat_of}


def test_win_rates_count_a_tie_as_half() -> None:
    rows = [j("r", "p1", "original", "left"), j("r", "p2", "original", "tie"),
            j("r", "p3", "original", "right", left="b", right="a")]
    rates = win_rates(rows)
    assert rates["a"]["b"] == {"wins": 2, "ties": 1, "losses": 0, "n": 3,
                               "rate": pytest.approx(2.5 / 3)}
    assert rates["b"]["a"]["rate"] == pytest.approx(0.5 / 3)


def test_alpha_needs_two_raters_and_two_values() -> None:
    assert alpha([j("r", "p1", "original", "left")]) == (None, 0)
    same = [j(r, p, "original", "left") for r in ("x", "y") for p in ("p1", "p2")]
    assert alpha(same) == (None, 2)  # one value everywhere: undefined, not 1
    # two raters, one disagreement in four units: the textbook value
    rows = [j("x", p, "original", c) for p, c in zip("1234", ["left", "right", "left", "tie"],
                                                     strict=True)]
    rows += [j("y", p, "original", c) for p, c in zip("1234", ["left", "right", "right", "tie"],
                                                      strict=True)]
    value, units = alpha(rows)
    # coincidences: left-left 2, right-right 2, tie-tie 2, left-right 1 + right-left 1;
    # n = 8, n_left = 3, n_right = 3, n_tie = 2: D_o = 2, D_e = (64 - 22) / 7 = 6
    assert units == 4 and value == pytest.approx(1 - 2 / 6)


def test_consistency_compares_winners_across_swapped_sides() -> None:
    rows = [j("x", "p1", "original", "left"),
            j("x", "p9", "original", "right", left="b", right="a", repeat_of="p1"),
            j("y", "p1", "original", "left"),
            j("y", "p9", "original", "left", left="b", right="a", repeat_of="p1")]
    out = consistency(rows)
    assert out["x"] == {"compared": 1, "same": 1, "rate": 1.0}
    assert out["y"] == {"compared": 1, "same": 0, "rate": 0.0}


def test_spearman_between_criteria_across_pairs() -> None:
    rows = []
    for pid, (o, p) in enumerate([("left", "right"), ("right", "left"), ("tie", "tie"),
                                  ("left", "right")]):
        rows += [j("r", str(pid), "original", o), j("r", str(pid), "pleasant", p),
                 j("r", str(pid), "preferred", p)]
    out = criteria_spearman(rows)
    assert out["original~pleasant"]["rho"] == pytest.approx(-1.0)
    assert out["pleasant~preferred"]["rho"] == pytest.approx(1.0)
    assert out["pleasant~preferred"]["pairs"] == 4


def test_the_summary_says_plainly_when_people_and_the_reward_disagree() -> None:
    rows = [j("r", f"p{i}", "original", "left", left="a", right="b") for i in range(4)]
    rows += [j("r", f"q{i}", "original", "left", left="b", right="c") for i in range(4)]
    rows += [j("r", f"s{i}", "original", "left", left="a", right="c") for i in range(4)]
    # the reward ranks the other way round: c above b above a
    score = {"a": 0.2, "b": 0.5, "c": 0.9}
    rewards = {r["pair_id"]: (score[r["left"]], score[r["right"]]) for r in rows}
    out = human_summary(rows, rewards=rewards, bootstrap=50)
    auto = out["automatic"]
    assert auto["agree"] is False and "DISAGREE" in auto["verdict"]
    assert auto["writers"]["top_human"] == "a" and auto["writers"]["top_reward"] == "c"
    assert auto["pairs"]["share"] == 0.0
    rewards = {pid: (right, left) for pid, (left, right) in rewards.items()}
    agree = human_summary(rows, rewards=rewards, bootstrap=50)["automatic"]
    assert agree["agree"] is True and "agree" in agree["verdict"]
    assert list(out["bradley_terry"]["original"]) == ["a", "b", "c"]
