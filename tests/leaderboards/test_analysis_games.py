"""Per-state predictability, exploitability and find rates against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from envs import make_game
from envs.rps import payoff_matrix
from leaderboards.analysis_games import (
    DEFINITIONS,
    best_response_value,
    equilibrium_find_rate,
    find_rates,
    matrix_summary,
    predictability,
    role_classes,
    wilson_interval,
)

RPS = payoff_matrix(3)
NAMES = ["rock", "paper", "scissors"]
RPS_ROLES = {"player_0": RPS, "player_1": RPS}
VALUES = {"player_0": 0.0, "player_1": 0.0}


def match(a: str, b: str, moves: list[tuple[int, int]], policies: dict | None = None,
          roles=("player_0", "player_1"), payoff=RPS) -> dict:
    log = []
    for t, (x, y) in enumerate(moves):
        probs = {name: p[t] for name, p in (policies or {}).items()}
        r = float(payoff[x, y])
        log.append({"actions": {a: x, b: y}, "probabilities": probs, "rewards": {a: r, b: -r}})
    return {"key": f"{a}-{b}", "game": "g", "agents": [a, b], "roles": list(roles),
            "round_log": log}


def test_best_response_value_by_hand():
    assert best_response_value([1, 0, 0], RPS) == pytest.approx(1.0)  # paper beats rock
    assert best_response_value([1 / 3] * 3, RPS) == pytest.approx(0.0)
    # rock/paper half-half: paper earns 0.5 * 1 + 0.5 * 0
    assert best_response_value([0.5, 0.5, 0], RPS) == pytest.approx(0.5)
    assert best_response_value([2, 2, 0], RPS) == pytest.approx(0.5)  # counts are normalised


def test_role_classes_pool_symmetric_seats_only():
    assert set(role_classes(RPS_ROLES).values()) == {"all seats"}
    env = make_game("hide_and_seek", graph="house", search_radius=1)
    raw = env.unwrapped
    payoffs = {r: raw.payoff_for(r) for r in raw.possible_agents}
    assert role_classes(payoffs) == {"hider_0": "hider", "seeker_0": "seeker"}


def test_a_cycle_is_unexploitable_marginally_and_fully_exploitable_given_the_last_round():
    moves = [(t % 3, 0) for t in range(9)]  # cycle vs rock
    out = matrix_summary([match("cyc", "rock", moves)], "cyc", payoffs=RPS_ROLES, values=VALUES,
                         action_names=NAMES)["all seats"]
    assert out["source"] == "sampled" and out["rounds"] == 9
    assert out["marginal"] == pytest.approx([1 / 3] * 3)
    assert out["br_marginal"] == pytest.approx(0.0)
    assert out["br_conditioned"] == pytest.approx(1.0)  # every state has one move
    assert out["exploitability_conditioned"] == pytest.approx(1.0)
    assert out["br_per_decision"] is None
    states = {s["state"]: s for s in out["states"]}
    assert list(states)[0] == "start"
    assert states["rock/rock"]["distribution"] == [0, 1, 0] and states["rock/rock"]["rounds"] == 3
    assert states["rock/rock"]["most_likely"] == "paper"
    assert states["paper/rock"]["entropy_bits"] == 0.0
    assert out["mean_max_probability"] == pytest.approx(1.0)
    assert out["mean_reward"] == pytest.approx(0.0)


def test_conditioned_value_weights_states_by_visits():
    # after rock/rock: rock twice, paper twice (BR value 0.5); start: rock (1.0)
    moves = [(0, 0), (0, 0), (0, 0), (1, 0), (0, 0), (1, 0)]
    out = matrix_summary([match("a", "b", moves)], "a", payoffs=RPS_ROLES, values=VALUES,
                         action_names=NAMES)["all seats"]
    # states: start (1 round, rock), rock/rock (4 rounds: rock, rock, paper, paper),
    # paper/rock (1 round: rock)
    assert out["br_conditioned"] == pytest.approx((1 * 1.0 + 4 * 0.5 + 1 * 1.0) / 6)
    marginal = np.array([4, 2, 0]) / 6
    assert out["br_marginal"] == pytest.approx(best_response_value(marginal, RPS))
    rows = {s["state"]: s for s in out["states"]}
    assert rows["rock/rock"]["entropy_bits"] == pytest.approx(1.0)
    assert out["mean_max_probability"] == pytest.approx((1 + 4 * 0.5 + 1) / 6)


def test_stored_policies_are_used_exactly():
    moves = [(0, 1), (2, 1), (1, 1)]
    uniform = [[1 / 3] * 3] * 3
    out = matrix_summary([match("a", "b", moves, {"a": uniform})], "a", payoffs=RPS_ROLES,
                         values=VALUES, action_names=NAMES)["all seats"]
    assert out["source"] == "policies"
    assert out["br_marginal"] == pytest.approx(0.0)
    assert out["br_conditioned"] == pytest.approx(0.0)
    assert out["br_per_decision"] == pytest.approx(0.0)
    assert out["mean_max_probability"] == pytest.approx(1 / 3)
    assert "sampled_states" in out  # the sampled view beside the exact one
    # second seat, opponent's policies: a pure rock policy every round
    rock = [[1.0, 0, 0]] * 3
    seat2 = matrix_summary([match("b", "a", [(1, 0)] * 3, {"a": rock})], "a",
                           payoffs=RPS_ROLES, values=VALUES, action_names=NAMES)
    assert seat2["all seats"]["br_per_decision"] == pytest.approx(1.0)


def test_exploitability_subtracts_the_equilibrium_value():
    env = make_game("hide_and_seek", graph="house", search_radius=1)
    raw = env.unwrapped
    payoffs = {r: raw.payoff_for(r) for r in raw.possible_agents}
    hider, seeker, value = raw.nash()
    values = {"hider_0": -value, "seeker_0": value}
    names = list(raw.action_names)
    moves = [(0, 0)] * 4  # hider always in the hallway, seeker always searches it
    rec = match("h", "s", moves, roles=("hider_0", "seeker_0"), payoff=payoffs["hider_0"])
    out = matrix_summary([rec], "h", payoffs=payoffs, values=values, action_names=names)
    h = out["hider"]
    assert h["br_marginal"] == pytest.approx(1.0)  # the seeker always finds
    assert h["equilibrium_value"] == pytest.approx(value)
    assert h["exploitability_marginal"] == pytest.approx(1.0 - value)


def test_predictability_summary():
    rows = [{"state": "start", "rounds": 1, "max_probability": 1.0, "entropy_bits": 0.0,
             "most_likely": "rock"},
            {"state": "rock/rock", "rounds": 3, "max_probability": 0.5, "entropy_bits": 1.0,
             "most_likely": "paper"}]
    out = predictability(rows)
    assert out["mean_max_probability"] == pytest.approx((1 + 1.5) / 4)
    assert out["mean_entropy_bits"] == pytest.approx(3 / 4)
    assert out["most_predictable_state"] == "start" and out["its_move"] == "rock"


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (57, 200)])
def test_wilson_interval_against_scipy(k, n):
    ref = stats.binomtest(k, n).proportion_ci(method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(ref.low, abs=1e-12) and high == pytest.approx(ref.high, abs=1e-12)
    assert wilson_interval(0, 0) == (None, None)


def test_find_rates_count_rounds_with_a_find():
    seek = np.array([[1.0, -1.0], [-1.0, 1.0]])  # radius 0 on two rooms: found when equal
    hider_payoff = -seek.T
    a_hides = match("a", "b", [(0, 0), (0, 1), (1, 1), (1, 0)], roles=("hider_0", "seeker_0"),
                    payoff=hider_payoff)
    b_hides = match("b", "a", [(0, 1)] * 4, roles=("hider_0", "seeker_0"), payoff=hider_payoff)
    out = find_rates([a_hides, b_hides])
    assert out["b"]["as_seeker"]["finds"] == 2 and out["b"]["as_seeker"]["rounds"] == 4
    assert out["a"]["as_hider"]["rate"] == pytest.approx(0.5)
    assert out["a"]["as_seeker"]["rate"] == 0.0 and out["b"]["as_hider"]["rate"] == 0.0
    low, high = wilson_interval(2, 4)
    assert out["a"]["as_hider"]["ci_low"] == low and out["a"]["as_hider"]["ci_high"] == high


def test_equilibrium_find_rate():
    seek = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert equilibrium_find_rate([0.5, 0.5], [0.5, 0.5], seek) == pytest.approx(0.5)
    assert equilibrium_find_rate([1, 0], [1, 0], seek) == pytest.approx(1.0)
    env = make_game("hide_and_seek", graph="house", search_radius=1)
    raw = env.unwrapped
    hider, seeker, value = raw.nash()
    rate = equilibrium_find_rate(seeker, hider, raw.payoff_for("seeker_0"))
    assert rate == pytest.approx((value + 1) / 2)  # a round pays +1 found, -1 not


def test_definitions_are_written_out():
    text = " ".join(DEFINITIONS)
    for word in ("state", "entropy", "largest probability", "marginal", "conditioned",
                 "Exploitability", "Find rate", "nash()"):
        assert word in text
