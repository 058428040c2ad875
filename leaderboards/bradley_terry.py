"""Bradley-Terry strengths: an order-free alternative to TrueSkill.

TrueSkill's ratings depend on the order of updates; a Bradley-Terry fit does not.
The model says agent *i* beats *j* with probability ``1 / (1 + exp(-(bt_i - bt_j)))``.
It is fitted to the contests of :mod:`leaderboards.contests`, judged by the same margin
rule as the TrueSkill table (a win only beyond ``margin_sd`` standard deviations of
chance's net; a draw counts half a win to each side), with Hunter's
minorise-maximise iteration, and ``bt`` is centred to mean 0. Each pair of agents also
gets ``prior`` virtual games split evenly, which keeps an unbeaten agent's strength
finite and the fit defined when the schedule is sparse.

Intervals come from a bootstrap over matches: the run's contests (a match, or a
hide-and-seek pair: the unit that is rated) are resampled with replacement
``bootstrap`` times (1,000 by default) by a seeded ``numpy.random.Generator`` and
refitted; ``bt_low``/``bt_high`` are the 2.5th and 97.5th percentiles of the refitted
strengths (a 95% interval).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from leaderboards.contests import (
    DEFAULT_MARGIN_SD,
    RPS_ROUND_VARIANCE,
    Contest,
    OutcomeRule,
    Record,
    contests,
)
from leaderboards.table import Leaderboard

BT_COLUMNS = ["bt", "bt_low", "bt_high"]
#: resamples of the bootstrap by default
BOOTSTRAP = 1000
# resamples refitted together: at most about this many float64 cells in one batch
_BATCH_CELLS = 4_000_000


def fit_strengths(wins: np.ndarray, *, prior: float = 0.5, tol: float = 1e-9,
                  max_iter: int = 10_000) -> np.ndarray:
    """Centred log-strengths from a matrix ``wins[i, j]`` (i's wins over j)."""
    return fit_many(np.asarray(wins, dtype=float)[None], prior=prior, tol=tol,
                    max_iter=max_iter)[0]


def fit_many(wins: np.ndarray, *, prior: float = 0.5, tol: float = 1e-9,
             max_iter: int = 10_000) -> np.ndarray:
    """:func:`fit_strengths` of each ``wins[k]`` at once (shape ``(K, n, n)`` in,
    ``(K, n)`` out); the iteration stops when every fit has converged."""
    k, n = wins.shape[0], wins.shape[-1]
    if n == 0:
        return np.zeros((k, 0))
    w = wins + (prior / 2) * (1 - np.eye(n))
    games = w + np.swapaxes(w, 1, 2)
    total_wins = w.sum(axis=2)
    p = np.ones((k, n))
    for _ in range(max_iter):
        denom = (games / (p[:, :, None] + p[:, None, :])).sum(axis=2)
        new = np.where(denom > 0, total_wins / np.where(denom > 0, denom, 1), p)
        with np.errstate(divide="ignore"):
            logs = np.log(new)
        new = new / np.exp(logs.mean(axis=1, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.nan_to_num(np.abs(np.log(new) - np.log(p)), nan=0.0, posinf=np.inf)
        p = new
        if np.max(step, initial=0.0) < tol:
            break
    with np.errstate(divide="ignore"):
        theta = np.log(p)
    return theta - theta.mean(axis=1, keepdims=True)


def _wins_matrix(ia: np.ndarray, ib: np.ndarray, outcome: np.ndarray, n: int) -> np.ndarray:
    wins = np.zeros((n, n))
    score = (outcome + 1) / 2  # 1 win, 0.5 draw, 0 loss for a
    np.add.at(wins, (ia, ib), score)
    np.add.at(wins, (ib, ia), 1 - score)
    return wins


def _bootstrap(ia: np.ndarray, ib: np.ndarray, outcome: np.ndarray, n: int, *,
               resamples: int, seed: int, prior: float) -> np.ndarray:
    """Refitted strengths of ``resamples`` resamples of the contests, ``(resamples, n)``."""
    rng = np.random.default_rng(seed)
    m = len(ia)
    samples = np.empty((resamples, n))
    batch = max(1, min(_BATCH_CELLS // max(n * n, 1), _BATCH_CELLS // max(m, 1)))
    score = (outcome + 1) / 2
    flat_ab, flat_ba = ia * n + ib, ib * n + ia
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        pick = rng.integers(0, m, size=(size, m))
        rows = (np.arange(size) * n * n)[:, None]
        cells = np.concatenate([(rows + flat_ab[pick]).ravel(), (rows + flat_ba[pick]).ravel()])
        weights = np.concatenate([score[pick].ravel(), (1 - score[pick]).ravel()])
        wins = np.bincount(cells, weights=weights, minlength=size * n * n)
        samples[start:start + size] = fit_many(wins.reshape(size, n, n), prior=prior,
                                               tol=1e-6)
    return samples


def bradley_terry(records: Iterable[Record], *, bootstrap: int = BOOTSTRAP, seed: int = 0,
                  prior: float = 0.5, margin_sd: float = DEFAULT_MARGIN_SD,
                  round_variance: float = RPS_ROUND_VARIANCE) -> Leaderboard:
    """Fit strengths to two-player records; rows ``agent, bt, bt_low, bt_high, matches``.

    ``margin_sd`` and ``round_variance`` make the outcome rule
    (:class:`leaderboards.contests.OutcomeRule`), as for the TrueSkill table.
    """
    records = list(records)
    rule = OutcomeRule(margin_sd, round_variance)
    found: list[Contest] = [c for c in contests(records, rule) if c.a != c.b]
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
        samples = _bootstrap(ia, ib, outcome, n, resamples=bootstrap, seed=seed, prior=prior)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    played = np.bincount(np.concatenate([ia, ib]), minlength=n) if n else np.zeros(0)
    rows = [{"agent": a, "bt": float(theta[i]), "bt_low": _opt(low[i]), "bt_high": _opt(high[i]),
             "matches": int(played[i])} for i, a in enumerate(agents)]
    rows.sort(key=lambda r: (-r["bt"], r["agent"]))
    return Leaderboard(rows, columns=["agent", *BT_COLUMNS, "matches"])


def _opt(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def add_bradley_terry(board: Leaderboard, records: Iterable[Record], *,
                      bootstrap: int = BOOTSTRAP, seed: int = 0,
                      margin_sd: float = DEFAULT_MARGIN_SD,
                      round_variance: float = RPS_ROUND_VARIANCE) -> Leaderboard:
    """``board`` with ``bt``, ``bt_low`` and ``bt_high`` columns added."""
    fitted = bradley_terry(records, bootstrap=bootstrap, seed=seed, margin_sd=margin_sd,
                           round_variance=round_variance)
    return board.with_columns({r["agent"]: r for r in fitted.rows}, keys=BT_COLUMNS)
