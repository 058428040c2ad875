"""Bootstrap intervals for one run's measures and for the difference between two runs.

Works on plain match records and imports nothing from ``arena``. A measure of one agent
in one run is built from **units** that are resampled as wholes: an episode for random
numbers and writing, a match for the matrix games (a hide-and-seek pair for ratings). Each
unit contributes a row of additive figures (counts, sums), and the measure is a function
of their sum, so a bootstrap replicate is the sum over a resample of units:

* **χ²/N** and **entropy** (bits) of the numbers said: a unit's row is its value counts;
* **best response per round** (what an opponent earns per round by best-responding to
  the agent's strategy given the previous round, as in :mod:`leaderboards.analysis_games`):
  a row holds, per state, the sum of the agent's policies there (the moves played,
  one-hot, for an agent that stored none);
* **find rate** (as seeker): finds and rounds; **originality**: the sum and the count.

The **rating** (TrueSkill μ) is recomputed from the resampled matches by a function the
caller hands in (it knows the run's rating rule).

:func:`difference` compares run *a* with run *b*: ``diff = b − a`` with the 2.5 and 97.5
percentiles of the replicates' differences. Runs are resampled independently, except
runs that hold the same matches (the same config and seed): their units are paired by
key and resampled together, so identical data has a difference of exactly 0.
Every random choice comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leaderboards.analysis_games import seat_of

#: bootstrap replicates for the additive measures, and for ratings (each recomputes them)
RESAMPLES = 1000
RATING_RESAMPLES = 200


@dataclass
class Units:
    """One measure of one agent in one run: ``rows[i]`` is unit ``keys[i]``'s additive
    figures; ``stat`` maps sums (shape ``(B, d)``) to the measure (shape ``(B,)``)."""

    keys: list[str]
    rows: np.ndarray
    stat: Callable[[np.ndarray], np.ndarray]
    #: what each equal block of a row's figures stands for (the states of a matrix game),
    #: when two runs may hold different ones; None: the same columns in every run
    labels: list[Any] | None = None
    #: False: ``rows`` is one pooled row (too many figures to keep per unit): the value
    #: holds, and there is no interval
    resample: bool = True

    def value(self) -> float | None:
        if not self.keys:
            return None
        out = float(self.stat(self.rows.sum(axis=0)[None, :])[0])
        return out if np.isfinite(out) else None


# -- statistics of summed rows ----------------------------------------------------------
def chi2_per_n(sums: np.ndarray) -> np.ndarray:
    n = sums.sum(axis=1)
    expected = n / sums.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((sums - expected[:, None]) ** 2).sum(axis=1) / expected / n


def entropy(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = sums / sums.sum(axis=1, keepdims=True)
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=1) + 0.0


def ratio(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[:, 0] / sums[:, 1]


def best_response(payoff: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Sums of per-state policy rows (``states × actions``, flattened) -> the opponent's
    best-response earnings per round: Σ_states max_j Σ_i V_si (−A_ij) / rounds."""
    a = np.asarray(payoff, dtype=float)
    n = a.shape[0]

    def stat(sums: np.ndarray) -> np.ndarray:
        v = sums.reshape(len(sums), -1, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (v @ -a).max(axis=2).sum(axis=1) / v.sum(axis=(1, 2))

    return stat


# -- units from records -----------------------------------------------------------------
def numbers_units(sequences: Sequence[tuple[str, Sequence[int]]], *, low: int, high: int
                  ) -> tuple[Units, Units]:
    """χ²/N and entropy over episodes: ``sequences`` are ``(key, numbers)``."""
    k = high - low + 1
    rows = np.zeros((len(sequences), k))
    for i, (_, numbers) in enumerate(sequences):
        for v in numbers:
            rows[i, int(v) - low] += 1
    keys = [key for key, _ in sequences]
    return Units(keys, rows, chi2_per_n), Units(keys, rows.copy(), entropy)


def matrix_units(records: Sequence[Mapping[str, Any]], agent: str, *,
                 classes: Mapping[str, str], payoffs: Mapping[str, np.ndarray],
                 n_actions: int) -> dict[str, Units]:
    """Role class -> best response per round over matches (states as in
    :mod:`leaderboards.analysis_games`: ``start`` and the previous round's moves)."""
    n = n_actions
    # unit -> state -> policy sums: only the states visited (a board of many nodes has
    # n² states, few of them seen)
    per: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    role_of: dict[str, str] = {}
    for record in records:
        if (seated := seat_of(record, agent)) is None:
            continue
        seat, opponent = seated
        role = record["roles"][seat]
        label = classes.get(role, role)
        role_of.setdefault(label, role)
        row: dict[int, np.ndarray] = {}
        state = 0
        log = record.get("round_log") or ()
        for entry in log:
            own, other = int(entry["actions"][agent]), int(entry["actions"][opponent])
            p = (entry.get("probabilities") or {}).get(agent)
            sums = row.setdefault(state, np.zeros(n))
            if p is None:
                sums[own] += 1
            else:
                q = np.asarray(p, dtype=float)
                sums += q / q.sum()
            state = 1 + own * n + other
        if log:
            per.setdefault(label, {})[str(record["key"])] = row
    # stored policies where there are, the move played where not: as in the analysis
    out = {}
    for label, units in sorted(per.items()):
        states = sorted({s for row in units.values() for s in row})
        column = {s: i for i, s in enumerate(states)}
        pooled = len(units) * len(states) * n > MAX_FIGURES
        rows = np.zeros((1 if pooled else len(units), len(states), n))
        for u, row in enumerate(units.values()):
            for s, sums in row.items():
                rows[0 if pooled else u, column[s]] += sums
        out[label] = Units(["all"] if pooled else list(units), rows.reshape(len(rows), -1),
                           best_response(np.asarray(payoffs[role_of[label]])), states,
                           resample=not pooled)
    return out


def find_units(records: Sequence[Mapping[str, Any]], agent: str, *, seeker_role: str
               ) -> Units:
    """The agent's find rate as seeker over matches (a find: the seeker's reward > 0)."""
    keys, rows = [], []
    for record in records:
        roles = list(record.get("roles", ()))
        if seeker_role not in roles or record["agents"][roles.index(seeker_role)] != agent:
            continue
        log = record.get("round_log") or ()
        keys.append(str(record["key"]))
        rows.append([sum(1 for e in log if e["rewards"][agent] > 0), len(log)])
    return Units(keys, np.array(rows, dtype=float).reshape(-1, 2), ratio)


def mean_units(values: Sequence[tuple[str, float]]) -> Units:
    """The mean of per-unit values (originality per answer)."""
    return Units([k for k, _ in values], np.array([[v, 1.0] for _, v in values]).reshape(-1, 2),
                 ratio)


# -- resampling -------------------------------------------------------------------------
def _weights(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of ``n`` units is drawn in each replicate, shape ``(B, n)``."""
    if n == 0:
        return np.zeros((resamples, 0))
    draws = rng.integers(0, n, size=(resamples, n))
    return np.stack([np.bincount(row, minlength=n) for row in draws]).astype(float)


#: past this many figures (units × figures per unit) a measure gets no interval: a
#: matrix game of hundreds of actions visits too many states to resample in seconds
MAX_FIGURES = 20_000_000


def replicates(units: Units, rng: np.random.Generator, *, resamples: int = RESAMPLES
               ) -> np.ndarray:
    """The measure on ``resamples`` bootstrap resamples of the units (NaNs past
    :data:`MAX_FIGURES`)."""
    if not units.resample or units.rows.size * max(1, resamples // 100) > MAX_FIGURES:
        return np.full(resamples, np.nan)
    return units.stat(_weights(rng, len(units.keys), resamples) @ units.rows)


def interval(units: Units, rng: np.random.Generator, *, resamples: int = RESAMPLES
             ) -> tuple[float | None, float | None]:
    """The 95% percentile interval of one run's measure."""
    return _percentiles(replicates(units, rng, resamples=resamples))


def _percentiles(values: np.ndarray) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None, None
    # rounded to 12 decimals: sums in a different order differ in the last bits, and
    # identical data must show a difference of exactly 0
    low, high = np.round(np.percentile(values, [2.5, 97.5]), 12)
    return float(low) + 0.0, float(high) + 0.0


def _row(a: float | None, b: float | None, diffs: np.ndarray | None) -> dict[str, Any]:
    diff = None if a is None or b is None else b - a
    low, high = (None, None) if diffs is None else _percentiles(diffs)
    return {"a": a, "b": b, "diff": diff, "lo": low, "hi": high,
            "significant": low is not None and high is not None and (low > 0 or high < 0)}


def difference(a: Units, b: Units, rng: np.random.Generator, *, paired: bool = False,
               resamples: int = RESAMPLES) -> dict[str, Any]:
    """``{a, b, diff, lo, hi, significant}``: the measure in each run, ``b − a`` and its
    95% bootstrap interval; ``paired``: the runs hold the same units (matched by key)."""
    va, vb = a.value(), b.value()
    if va is None or vb is None:
        return _row(va, vb, None)
    if not (a.resample and b.resample):
        return _row(va, vb, None)
    if paired:
        keys = list(dict.fromkeys([*a.keys, *b.keys]))
        labels = None if a.labels is None or b.labels is None else \
            sorted(set(a.labels) | set(b.labels))
        width = a.rows.shape[1] if labels is None else \
            len(labels) * (a.rows.shape[1] // max(len(a.labels or ()), 1))
        if len(keys) * width * max(1, resamples // 100) > MAX_FIGURES:
            return _row(va, vb, None)
        w = _weights(rng, len(keys), resamples)
        diffs = b.stat(w @ _aligned(b, keys, labels)) - a.stat(w @ _aligned(a, keys, labels))
    else:
        diffs = replicates(b, rng, resamples=resamples) - replicates(a, rng, resamples=resamples)
    return _row(va, vb, diffs)


def _aligned(units: Units, keys: list[str], labels: list[Any] | None = None) -> np.ndarray:
    """``units.rows`` in the order of ``keys`` (and of ``labels``' blocks of figures), zeros
    for the units and blocks it lacks: they add nothing to a sum."""
    rows = units.rows
    if labels is not None and units.labels is not None:
        block = rows.shape[1] // max(len(units.labels), 1)
        at = {label: i for i, label in enumerate(labels)}
        wide = np.zeros((len(rows), len(labels), block))
        wide[:, [at[x] for x in units.labels]] = rows.reshape(len(rows), -1, block)
        rows = wide.reshape(len(rows), -1)
    index = {k: i for i, k in enumerate(units.keys)}
    out = np.zeros((len(keys), rows.shape[1]))
    for i, key in enumerate(keys):
        if key in index:
            out[i] = rows[index[key]]
    return out


# -- ratings ----------------------------------------------------------------------------
Rate = Callable[[list[Mapping[str, Any]]], Mapping[str, float]]


def _groups(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Rating units: a match, or the role-swapped pair it belongs to."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        out.setdefault(str(record.get("group") or record["key"]), []).append(record)
    return out


def rating_replicates(records: Sequence[Mapping[str, Any]], rate: Rate,
                      weights: np.ndarray, keys: list[str]) -> list[Mapping[str, float]]:
    """``rate`` on each resample: ``weights[b, i]`` copies of unit ``keys[i]``'s matches,
    in schedule order (ratings such as TrueSkill depend on it)."""
    groups = _groups(records)
    out = []
    for row in weights:
        chosen = [r for key, count in zip(keys, row, strict=True) if count
                  for r in groups.get(key, ()) for _ in range(int(count))]
        chosen.sort(key=lambda r: int(r.get("index", 0)))
        out.append(rate(chosen))
    return out


def rating_differences(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]],
                       rate_a: Rate, rate_b: Rate, agents: Sequence[str],
                       rng: np.random.Generator, *, paired: bool = False,
                       resamples: int = RATING_RESAMPLES) -> dict[str, dict[str, Any]]:
    """Agent -> :func:`difference`'s row for the rating ``rate`` gives in each run."""
    full_a, full_b = rate_a(list(a)), rate_b(list(b))
    keys_a, keys_b = list(_groups(a)), list(_groups(b))
    if paired:
        keys = list(dict.fromkeys([*keys_a, *keys_b]))
        w = _weights(rng, len(keys), resamples)
        reps_a = rating_replicates(a, rate_a, w, keys)
        reps_b = rating_replicates(b, rate_b, w, keys)
    else:
        reps_a = rating_replicates(a, rate_a, _weights(rng, len(keys_a), resamples), keys_a)
        reps_b = rating_replicates(b, rate_b, _weights(rng, len(keys_b), resamples), keys_b)
    out = {}
    for agent in agents:
        diffs = np.array([rb.get(agent, np.nan) - ra.get(agent, np.nan)
                          for ra, rb in zip(reps_a, reps_b, strict=True)], dtype=float)
        va, vb = full_a.get(agent), full_b.get(agent)
        out[agent] = _row(None if va is None else float(va), None if vb is None else float(vb),
                          diffs)
    return out
