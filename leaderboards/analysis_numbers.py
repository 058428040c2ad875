"""How random are an agent's random numbers: the statistics of the random-number task.

Works on plain match records (``arena.records``) of a ``numbers`` game; imports nothing
from ``arena``. Values are integers in ``[low, high]``, ``K = high - low + 1`` of them.
The definitions (the report prints :data:`DEFINITIONS`):

* **counts**: how often each value was said, over every decision of the agent (the
  engine's forfeit moves included: every row of the export counts).
* **Pearson's χ²** = Σ_v (O_v − E)² / E with E = N / K, on K − 1 degrees of freedom;
  the p-value is ``scipy.stats.chi2.sf``. **χ²/N** is the divergence (it does not grow
  with N); **N** the number of decisions.
* **KL(empirical ‖ uniform)** = Σ_v p_v log2(p_v K) bits = log2 K − H; **entropy**
  H = −Σ_v p_v log2 p_v bits (0 log 0 = 0).
* **repeats per sequence** = L − (number of distinct values in the sequence) for the
  complete sequences of length L > 1 (an episode). Under a uniform, independent
  sampler the number of distinct values D has P(D = d) = C(K, d) S(L, d) d! / K^L
  (S: Stirling numbers of the second kind), mean K (1 − (1 − 1/K)^L); for L = 10,
  K = 11 the repeats have mean 3.2410. ``z`` compares the observed mean with it
  (normal approximation, exact variance).
* **runs test** (Wald–Wolfowitz): each value is marked above or below the middle of the
  range, (low + high) / 2 (values equal to it are dropped); a run is a maximal stretch
  of equal marks inside one sequence. With n₁, n₂ marks of each kind a sequence has
  E[R] = 2 n₁ n₂ / n + 1 and Var[R] = 2 n₁ n₂ (2 n₁ n₂ − n) / (n² (n − 1)); these add
  up over sequences, z = (R − ΣE) / √ΣVar, two-sided normal p-value. Too few runs
  means streaks, too many means alternation.
* **lag-1 serial correlation**: Pearson's r between each value and the next one in the
  same sequence (``scipy.stats.pearsonr``, with its p-value).
* A *sequence* is an episode when episodes have more than one number; in the
  single-number task (L = 1) it is the agent's whole series of episodes, in order.
* **From stored policies** (the exact distribution each number was drawn from; a step
  without one, a forfeit, counts as the value said):
  expected counts Σ_t p_t, and from them χ²/N, KL and entropy of the mean policy;
  the mean entropy of each policy; expected repeats Σ_t p_t(values already said in
  this sequence). These are exact given the history the agent actually saw, so they
  carry no sampling noise of the agent's own draws.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np


def doc_bullets(doc: str | None, marker: str) -> list[str]:
    """The ``* `` bullets of a docstring after ``marker``, each joined into one line."""
    text = (doc or "").split(marker, 1)[-1]
    items = [" ".join(part.split()) for part in text.split("\n* ")[1:]]
    return [item.split("\n\n")[0] for item in items]


#: the definitions above, one text per bullet, for the report
DEFINITIONS = doc_bullets(__doc__, "The definitions")


def value_counts(values: Iterable[int], low: int, high: int) -> np.ndarray:
    """How often each of ``low..high`` occurs in ``values`` (shape ``(K,)``)."""
    k = high - low + 1
    counts = np.zeros(k, dtype=np.int64)
    for v in values:
        counts[int(v) - low] += 1
    return counts


def chi_square(counts: Sequence[float]) -> dict[str, Any]:
    """Pearson's χ² of ``counts`` against the uniform distribution over its cells."""
    from scipy import stats

    observed = np.asarray(counts, dtype=float)
    n = float(observed.sum())
    k = len(observed)
    if n <= 0:
        return {"n": 0, "chi2": None, "dof": k - 1, "p_value": None, "chi2_per_n": None}
    expected = n / k
    chi2 = float(((observed - expected) ** 2).sum() / expected)
    return {"n": int(round(n)) if float(n).is_integer() else n, "chi2": chi2, "dof": k - 1,
            "p_value": float(stats.chi2.sf(chi2, k - 1)), "chi2_per_n": chi2 / n}


def entropy_bits(p: Sequence[float]) -> float:
    """Shannon entropy of a distribution (normalised here), in bits."""
    q = np.asarray(p, dtype=float)
    q = q / q.sum()
    nz = q[q > 0]
    return float(-(nz * np.log2(nz)).sum()) + 0.0


def kl_uniform_bits(p: Sequence[float]) -> float:
    """KL(p ‖ uniform) in bits: log2 K − H(p)."""
    q = np.asarray(p, dtype=float)
    q = q / q.sum()
    nz = q[q > 0]
    return float((nz * np.log2(nz * len(q))).sum())


def repeats(sequence: Sequence[int]) -> int:
    """L − (number of distinct values)."""
    return len(sequence) - len(set(sequence))


def _stirling2_row(n: int) -> list[int]:
    """S(n, d) for d = 0..n (exact integers)."""
    row = [1]  # S(0, 0)
    for m in range(1, n + 1):
        new = [0] * (m + 1)
        for d in range(1, m + 1):
            new[d] = d * (row[d] if d < len(row) else 0) + row[d - 1]
        row = new
    return row


def uniform_repeats_distribution(length: int, k: int) -> np.ndarray:
    """P(repeats = r), r = 0..length − 1, for ``length`` independent uniform draws of ``k``."""
    s = _stirling2_row(length)
    total = k ** length
    probs = np.zeros(length)
    for d in range(1, min(length, k) + 1):
        ways = math.comb(k, d) * s[d] * math.factorial(d)
        probs[length - d] = ways / total
    return probs


def uniform_repeats_moments(length: int, k: int) -> tuple[float, float]:
    """Mean and variance of the repeats of a uniform sampler (closed form)."""
    a = (1 - 1 / k) ** length
    mean_distinct = k * (1 - a)
    var = k * (k - 1) * (1 - 2 / k) ** length + k * a - k * k * a * a
    return length - mean_distinct, max(var, 0.0)


def _normal_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def repeats_summary(sequences: Sequence[Sequence[int]], length: int, k: int) -> dict[str, Any]:
    """Observed repeats per complete sequence against the uniform sampler's."""
    full = [s for s in sequences if len(s) == length]
    mean_u, var_u = uniform_repeats_moments(length, k)
    out: dict[str, Any] = {"sequences": len(full), "mean": None, "sd": None, "z": None,
                           "p_value": None, "histogram": [0] * length,
                           "uniform_mean": mean_u, "uniform_sd": math.sqrt(var_u),
                           "uniform_distribution": uniform_repeats_distribution(length, k).tolist()}
    if not full:
        return out
    values = np.array([repeats(s) for s in full], dtype=float)
    out["histogram"] = np.bincount(values.astype(int), minlength=length).tolist()
    out["mean"] = float(values.mean())
    out["sd"] = float(values.std(ddof=1)) if len(values) > 1 else None
    if var_u > 0:
        z = (out["mean"] - mean_u) / math.sqrt(var_u / len(values))
        out["z"], out["p_value"] = z, _normal_p(z)
    return out


def runs_test(sequences: Sequence[Sequence[int]], middle: float) -> dict[str, Any]:
    """Wald–Wolfowitz runs above/below ``middle`` within each sequence, pooled."""
    runs = expected = variance = 0.0
    marks_total = 0
    for seq in sequences:
        marks = [v > middle for v in seq if v != middle]
        n = len(marks)
        if n == 0:
            continue
        marks_total += n
        n1 = sum(marks)
        n2 = n - n1
        runs += 1 + sum(a != b for a, b in zip(marks, marks[1:], strict=False))
        expected += 2 * n1 * n2 / n + 1
        if n > 1:
            variance += 2 * n1 * n2 * (2 * n1 * n2 - n) / (n * n * (n - 1))
    out: dict[str, Any] = {"marks": marks_total, "runs": int(runs), "expected": expected,
                           "variance": variance, "z": None, "p_value": None}
    if variance > 0:
        z = (runs - expected) / math.sqrt(variance)
        out["z"], out["p_value"] = z, _normal_p(z)
    return out


def lag1_correlation(sequences: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Pearson's r between consecutive values of the same sequence."""
    from scipy import stats

    x = [a for s in sequences for a in s[:-1]]
    y = [b for s in sequences for b in s[1:]]
    out: dict[str, Any] = {"pairs": len(x), "r": None, "p_value": None}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    result = stats.pearsonr(x, y)
    out["r"], out["p_value"] = float(result[0]), float(result[1])
    return out


def number_sequences(records: Iterable[Mapping[str, Any]], agent: str
                     ) -> tuple[list[list[int]], list[list[list[float] | None]]]:
    """The agent's numbers per episode (series in record order, episodes in order) and
    the policy stored with each (``None`` where there is none)."""
    sequences: list[list[int]] = []
    policies: list[list[list[float] | None]] = []
    for record in records:
        if agent not in record.get("agents", ()):
            continue
        by_episode: dict[int, list[tuple[int, Any, Any]]] = defaultdict(list)
        for i, entry in enumerate(record.get("round_log") or ()):
            if agent not in entry["actions"]:
                continue
            episode = entry.get("episode", 0)
            by_episode[episode].append((entry.get("step", i), entry["actions"][agent],
                                        (entry.get("probabilities") or {}).get(agent)))
        for episode in sorted(by_episode):
            steps = sorted(by_episode[episode], key=lambda s: s[0])
            sequences.append([int(a) for _, a, _ in steps])
            policies.append([p for _, _, p in steps])
    return sequences, policies


def _policy(p: Sequence[float] | None, value: int, low: int, k: int) -> np.ndarray:
    """A stored policy, normalised; a step without one (a forfeit) counts as the value said."""
    if p is None:
        return np.eye(k)[value - low]
    q = np.asarray(p, dtype=float)
    return q / q.sum()


def _exact(sequences: list[list[int]], policies: list[list[list[float] | None]], low: int,
           k: int, length: int) -> dict[str, Any]:
    """The figures from stored policies (see the module docstring)."""
    stack = np.array([_policy(p, v, low, k) for seq, probs in zip(sequences, policies, strict=True)
                      for v, p in zip(seq, probs, strict=True)])
    expected = stack.sum(axis=0)
    mean = expected / expected.sum()
    out: dict[str, Any] = {
        "n": int(len(stack)), "expected_counts": expected.tolist(),
        "chi2_per_n": float(k * ((mean - 1 / k) ** 2).sum()),
        "kl_bits": kl_uniform_bits(mean), "entropy_bits": entropy_bits(mean),
        "mean_policy_entropy_bits": float(np.mean([entropy_bits(p) for p in stack])),
        "repeats_mean": None}
    if length > 1:
        per_sequence = []
        for seq, probs in zip(sequences, policies, strict=True):
            if len(seq) != length:
                continue
            said: set[int] = set()
            total = 0.0
            for value, p in zip(seq, probs, strict=True):
                q = _policy(p, value, low, k)
                total += float(q[[v - low for v in said]].sum()) if said else 0.0
                said.add(value)
            per_sequence.append(total)
        out["repeats_mean"] = float(np.mean(per_sequence)) if per_sequence else None
    return out


def numbers_summary(records: Iterable[Mapping[str, Any]], agent: str, *, low: int, high: int,
                    length: int | None = None) -> dict[str, Any]:
    """Every figure of the module docstring for one agent (``length``: the task's L)."""
    sequences, policies = number_sequences(records, agent)
    length = int(length or max((len(s) for s in sequences), default=1))
    k = high - low + 1
    counts = value_counts((v for s in sequences for v in s), low, high)
    n = int(counts.sum())
    # the single-number task: the series of answers is the sequence
    series = sequences if length > 1 else [[v for s in sequences for v in s]]
    out: dict[str, Any] = {
        "low": low, "high": high, "k": k, "length": length,
        "values": list(range(low, high + 1)), "counts": counts.tolist(),
        **chi_square(counts),
        "kl_bits": kl_uniform_bits(counts) if n else None,
        "entropy_bits": entropy_bits(counts) if n else None,
        "max_entropy_bits": math.log2(k),
        "repeats": repeats_summary(sequences, length, k) if length > 1 else None,
        "runs": runs_test(series, (low + high) / 2),
        "lag1": lag1_correlation(series),
        "exact": None,
    }
    if any(p is not None for probs in policies for p in probs):
        out["exact"] = _exact(sequences, policies, low, k, length)
    return out
