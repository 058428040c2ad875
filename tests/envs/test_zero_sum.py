"""The shared zero-sum solver: equilibria, values, best responses and their ties."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from envs import hide_and_seek as hs
from envs import rps
from envs.zero_sum import (
    best_response,
    counter_response,
    equilibrium,
    solve_zero_sum,
    uniform_argmax,
    uniform_argmin,
)

BOARDS = [("house", 0), ("house", 1), ("line-3", 1), ("line-5", 1), ("cycle-4", 1),
          ("cycle-6", 2), ("grid-2x3", 1), ("complete-5", 0), ("line-12", 1),
          (nx.petersen_graph(), 1)]


def _gap(payoff: np.ndarray, x: np.ndarray, y: np.ndarray, value: float) -> float:
    """How far either strategy is from guaranteeing ``value`` against every pure reply."""
    return max(abs((x @ payoff).min() - value), abs((payoff @ y).max() - value))


@pytest.mark.parametrize(("graph", "radius"), BOARDS)
def test_equilibria_are_unexploitable_and_match_nash(graph: nx.Graph | str, radius: int) -> None:
    env = hs.parallel_env(graph=graph, search_radius=radius)
    seeker_payoff = env.context("seeker_0")["payoff"]
    hider_payoff = env.context("hider_0")["payoff"]
    seeker, seeker_value = equilibrium(seeker_payoff)
    hider, hider_value = equilibrium(hider_payoff)
    assert seeker_value == pytest.approx(-hider_value, abs=1e-9)
    assert _gap(seeker_payoff, seeker, hider, seeker_value) < 1e-9
    nash_hider, nash_seeker, value = env.nash()
    # nash() publishes exactly what an agent in each seat plays
    np.testing.assert_array_equal(nash_seeker, seeker)
    np.testing.assert_array_equal(nash_hider, hider)
    assert value == pytest.approx(seeker_value, abs=1e-9)


def test_house_seeker_strategy_is_the_agents() -> None:
    env = hs.parallel_env(graph="house", search_radius=1)
    seeker, value = equilibrium(env.context("seeker_0")["payoff"])
    np.testing.assert_array_equal(seeker, [0.5, 0.0, 0.0, 0.0, 0.5])
    assert value == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_array_equal(env.nash()[1], seeker)


def test_solve_zero_sum_gives_both_seats() -> None:
    payoff = hs.payoff_matrix("line-5", 1)
    x, y, value = solve_zero_sum(payoff)
    np.testing.assert_array_equal(x, equilibrium(payoff)[0])
    np.testing.assert_array_equal(y, equilibrium(-payoff.T)[0])
    assert value == pytest.approx(0.0, abs=1e-9)
    assert _gap(payoff, x, y, value) < 1e-9


@pytest.mark.parametrize("n", [3, 5])
def test_rps_equilibrium_is_uniform_with_value_zero(n: int) -> None:
    x, value = equilibrium(rps.payoff_matrix(n))
    np.testing.assert_array_equal(x, np.full(n, 1 / n))
    assert value == 0.0


def test_equilibrium_is_a_copy_of_the_cached_answer() -> None:
    payoff = hs.payoff_matrix("house", 1)
    first, _ = equilibrium(payoff)
    first[:] = 0.0
    assert equilibrium(payoff)[0].sum() == pytest.approx(1.0)


def test_best_response_ties_are_uniform() -> None:
    a = rps.payoff_matrix(3)
    np.testing.assert_array_equal(best_response(a, np.full(3, 1 / 3)), np.full(3, 1 / 3))
    # rock or paper: paper earns 1/2, scissors 0, rock -1/2, so no tie
    np.testing.assert_array_equal(best_response(a, np.array([0.5, 0.5, 0.0])), [0, 1, 0])
    # a hider in the hallway or the bedroom is found by searching either
    seeker = hs.payoff_matrix("house", 1)
    np.testing.assert_array_equal(best_response(seeker, np.array([0.5, 0.5, 0, 0, 0])),
                                  [0.5, 0.5, 0.0, 0.0, 0.0])
    # a hider in the bedroom or the cellar: every search but the living room's earns 0
    np.testing.assert_array_equal(best_response(seeker, np.array([0, 0.5, 0, 0, 0.5])),
                                  [0.25, 0.25, 0.25, 0.0, 0.25])


def test_best_response_accepts_stacks() -> None:
    a = rps.payoff_matrix(5)
    q = np.random.default_rng(0).dirichlet(np.ones(5), size=7)
    stack = best_response(a, q)
    assert stack.shape == (7, 5)
    for row, dist in zip(stack, q, strict=True):
        np.testing.assert_array_equal(row, best_response(a, dist))


def test_counter_response_is_the_opponents_best_response() -> None:
    a = rps.payoff_matrix(3)
    np.testing.assert_array_equal(counter_response(a, np.array([1.0, 0, 0])), [0, 1, 0])
    np.testing.assert_array_equal(counter_response(a, np.full(3, 1 / 3)), np.full(3, 1 / 3))
    np.testing.assert_array_equal(counter_response(a, np.array([1.0, 0, 0])),
                                  best_response(-a.T, np.array([1.0, 0, 0])))


def test_ties_count_within_the_tolerance_only() -> None:
    values = np.array([[1.0, 1.0 - 1e-12, 0.5], [0.0, 1e-6, 1e-6]])
    np.testing.assert_array_equal(uniform_argmax(values), [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    np.testing.assert_array_equal(uniform_argmin(values), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(uniform_argmin(-values), uniform_argmax(values))
