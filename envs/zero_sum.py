"""Zero-sum matrix games: the one equilibrium solver and the best responses.

A payoff matrix is seen from the row player's seat: rows are its actions, columns
the opponent's, entries its reward (the opponent gets the negation). The envs use
this to publish equilibria (``hide_and_seek.raw_env.nash``) and the agents to play
and exploit, so both sides agree on the same strategy, bit for bit.

Best responses keep ties as a uniform mixture over the actions within ``TIE`` of
the best, so an agent's ``distribution`` is exact and its tie-breaking is left to
its own random generator.

Like every module in ``envs`` it imports nothing else from the project.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["TIE", "best_response", "counter_response", "equilibrium", "solve_zero_sum",
           "uniform_argmax", "uniform_argmin"]

TIE = 1e-9
"""Values this close to the best count as tied (LP and float noise is far smaller)."""


def uniform_argmax(values: np.ndarray) -> np.ndarray:
    """Uniform mixture over the entries within ``TIE`` of the maximum, along the last axis."""
    best = values >= values.max(axis=-1, keepdims=True) - TIE
    return best / best.sum(axis=-1, keepdims=True)


def uniform_argmin(values: np.ndarray) -> np.ndarray:
    """Uniform mixture over the entries within ``TIE`` of the minimum, along the last axis."""
    # negation is exact, so this selects exactly the entries <= min + TIE
    return uniform_argmax(-np.asarray(values))


def best_response(payoff: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Uniform mixture over our actions maximising expected payoff against ``q``.

    ``q`` may be one distribution (shape ``(n_opp,)``) or a stack of them
    (shape ``(k, n_opp)``); the answer has the matching shape over our actions.
    """
    return uniform_argmax(np.asarray(q) @ payoff.T)


def counter_response(payoff: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The opponent's best response (zero-sum) to our mixed strategy/strategies ``s``."""
    return uniform_argmax(-(np.asarray(s) @ payoff))


@lru_cache(maxsize=64)
def _maximin(shape: tuple[int, int], data: bytes) -> tuple[np.ndarray, float]:
    from scipy.optimize import linprog  # only equilibrium users pay for scipy's import

    a = np.frombuffer(data).reshape(shape)
    m, k = shape
    # maximise v subject to x @ a[:, j] >= v for all j, x a distribution
    c = np.zeros(m + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-a.T, np.ones((k, 1))])
    a_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    # HiGHS's default tolerances: the exploiters have always played these exact strategies
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(k), A_eq=a_eq, b_eq=[1.0],
                  bounds=[(0, None)] * m + [(None, None)], method="highs")
    if res.x is None:  # a non-optimal solution is still used, as it always was
        raise RuntimeError(f"equilibrium LP failed: {res.message}")
    x = np.maximum(res.x[:m], 0.0)
    return x / x.sum(), float(res.x[-1])


def equilibrium(payoff: np.ndarray) -> tuple[np.ndarray, float]:
    """Maximin mixed strategy of the row player and the game's value (cached)."""
    a = np.ascontiguousarray(payoff, dtype=float)
    if a.shape[0] == a.shape[1] and np.allclose(a, -a.T):
        # symmetric zero-sum (RPS): value 0; uniform when the game is circulant
        if np.allclose(a.sum(axis=1), 0.0):
            return np.full(a.shape[0], 1.0 / a.shape[0]), 0.0
    x, v = _maximin(a.shape, a.tobytes())
    return x.copy(), v


def solve_zero_sum(payoff: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """An equilibrium: (row strategy, column strategy, row player's value).

    Each strategy is the one :func:`equilibrium` gives that player from its own seat
    (the column player's payoff is ``-payoff.T``), i.e. what the agents play.
    """
    payoff = np.asarray(payoff, dtype=float)
    x, _ = equilibrium(payoff)
    y, _ = equilibrium(-payoff.T)
    # the value of the pair itself, so that it is the payoff both strategies guarantee
    return x, y, float(x @ payoff @ y)
