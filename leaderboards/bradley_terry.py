"""Bradley-Terry strengths: an order-free alternative to TrueSkill.

TrueSkill's ratings depend on the order of updates; a Bradley-Terry fit does not.
The model says agent *i* beats *j* with probability ``1 / (1 + exp(-(bt_i - bt_j)))``.
It is fitted to the contests of :mod:`leaderboards.contests` (a draw counts half a
win to each side) with Hunter's minorise-maximise iteration, and ``bt`` is centred to
mean 0. Each pair of agents also gets ``prior`` virtual games split evenly, which keeps
an unbeaten agent's strength finite and the fit defined when the schedule is sparse.

Intervals come from a bootstrap over contests (resampled with replacement by a
seeded ``numpy.random.Generator``): ``bt_low``/``bt_high`` are the 2.5th and 97.5th
percentiles of the refitted strengths.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from leaderboards.contests import Contest, Record, contests
from leaderboards.table import Leaderboard

BT_COLUMNS = ["bt", "bt_low", "bt_high"]


def fit_strengths(wins: np.ndarray, *, prior: float = 0.5, tol: float = 1e-9,
                  max_iter: int = 10_000) -> np.ndarray:
    """Centred log-strengths from a matrix ``wins[i, j]`` (i's wins over j)."""
    n = wins.shape[0]
    if n == 0:
        return np.zeros(0)
    w = wins + (prior / 2) * (1 - np.eye(n))
    games = w + w.T
    total_wins = w.sum(axis=1)
    p = np.ones(n)
    for _ in range(max_iter):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1)
        new = np.where(denom > 0, total_wins / np.where(denom > 0, denom, 1), p)
        new = new / np.exp(np.log(new).mean())
        if np.max(np.abs(np.log(new) - np.log(p))) < tol:
            p = new
            break
        p = new
    theta = np.log(p)
    return theta - theta.mean()


def _wins_matrix(ia: np.ndarray, ib: np.ndarray, outcome: np.ndarray, n: int) -> np.ndarray:
    wins = np.zeros((n, n))
    score = (outcome + 1) / 2  # 1 win, 0.5 draw, 0 loss for a
    np.add.at(wins, (ia, ib), score)
    np.add.at(wins, (ib, ia), 1 - score)
    return wins


def bradley_terry(records: Iterable[Record], *, bootstrap: int = 200, seed: int = 0,
                  prior: float = 0.5) -> Leaderboard:
    """Fit strengths to two-player records; rows ``agent, bt, bt_low, bt_high, matches``."""
    records = list(records)
    found: list[Contest] = [c for c in contests(records) if c.a != c.b]
    agents = sorted({name for r in records if len(r.get("agents") or ()) == 2
                     for name in r["agents"]})
    index = {a: i for i, a in enumerate(agents)}
    ia = np.array([index[c.a] for c in found], dtype=int)
    ib = np.array([index[c.b] for c in found], dtype=int)
    outcome = np.array([c.outcome for c in found], dtype=float)
    n = len(agents)
    theta = fit_strengths(_wins_matrix(ia, ib, outcome, n), prior=prior)
    low = high = np.full(n, np.nan)
    if bootstrap > 0 and len(found) > 0:
        rng = np.random.default_rng(seed)
        samples = np.empty((bootstrap, n))
        for b in range(bootstrap):
            pick = rng.integers(0, len(found), size=len(found))
            samples[b] = fit_strengths(_wins_matrix(ia[pick], ib[pick], outcome[pick], n),
                                       prior=prior, tol=1e-6)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    played = np.bincount(np.concatenate([ia, ib]), minlength=n) if n else np.zeros(0)
    rows = [{"agent": a, "bt": float(theta[i]), "bt_low": _opt(low[i]), "bt_high": _opt(high[i]),
             "matches": int(played[i])} for i, a in enumerate(agents)]
    rows.sort(key=lambda r: (-r["bt"], r["agent"]))
    return Leaderboard(rows, columns=["agent", *BT_COLUMNS, "matches"])


def _opt(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def add_bradley_terry(board: Leaderboard, records: Iterable[Record], *, bootstrap: int = 200,
                      seed: int = 0) -> Leaderboard:
    """``board`` with ``bt``, ``bt_low`` and ``bt_high`` columns added."""
    fitted = bradley_terry(records, bootstrap=bootstrap, seed=seed)
    return board.with_columns({r["agent"]: r for r in fitted.rows}, keys=BT_COLUMNS)
