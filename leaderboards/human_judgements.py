"""What people's judgements of pairs of texts say: strengths, agreement, consistency.

Input: one dict per judgement, ``rater``, ``pair_id``, ``criterion``, ``choice``
(``left``/``right``/``tie`` as the pair showed them), ``left`` and ``right`` (the writers)
and ``repeat_of`` (the pair it repeats with the sides swapped, or None). Every judgement
counts, a repeat's too.

* **Bradley–Terry strengths** per criterion: each judgement is a contest between the two
  writers, a tie half a win to each; fitted with
  :func:`leaderboards.bradley_terry.fit_strengths` (centred log-strengths, 0.5 virtual
  games per pair of writers); 95% intervals from 1,000 bootstrap resamples of the
  judgements drawn by a seeded ``numpy.random.Generator``.
* **Win rates**: per criterion, each writer's wins, ties and losses against each other,
  and ``rate`` = (wins + ties/2) / judgements.
* **Krippendorff's α** (nominal; the ``krippendorff`` package) per criterion, over the
  pairs (units: pair ids, values: left/tie/right) that at least two raters judged.
* **Consistency**: for each rater, on each repeated pair they judged both times, per
  criterion, whether the two answers name the same winner (or both tie).
* **Spearman's ρ between criteria** across pairs: per pair and criterion the mean over its
  judgements of +1 (left), 0 (tie), −1 (right); ρ (``scipy.stats.spearmanr``) across the
  pairs judged on both criteria.
* **People against the automatic originality reward**: per pair, the people's mean
  ``original`` answer against the difference of the two texts' stored rewards (ρ, and
  the share of pairs where both pick the same side, among pairs where both pick one);
  per writer, the ``original`` strength against the mean reward of the writer's judged
  texts (ρ over writers, and whether both put the same writer first). They *disagree*
  when either ρ is negative, or the share of pairs is below one half.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from leaderboards.bradley_terry import _bootstrap, _wins_matrix, fit_strengths

CRITERIA = ("original", "pleasant", "preferred")
SIGN = {"left": 1.0, "tie": 0.0, "right": -1.0}
VALUE = {"left": 0, "tie": 1, "right": 2}
BOOTSTRAP = 1000


def _float(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def winner(j: dict[str, Any]) -> str | None:
    return {"left": j["left"], "right": j["right"]}.get(j["choice"])


def strengths(rows: Sequence[dict[str, Any]], *, bootstrap: int = BOOTSTRAP,
              seed: int = 0) -> dict[str, dict[str, float | None]]:
    """agent -> ``bt``, ``low``, ``high`` from judgements of one criterion."""
    agents = sorted({a for j in rows for a in (j["left"], j["right"])})
    index = {a: i for i, a in enumerate(agents)}
    ia = np.array([index[j["left"]] for j in rows], dtype=int)
    ib = np.array([index[j["right"]] for j in rows], dtype=int)
    outcome = np.array([SIGN[j["choice"]] for j in rows], dtype=float)  # 1: left wins
    n = len(agents)
    theta = fit_strengths(_wins_matrix(ia, ib, outcome, n))
    low = high = np.full(n, np.nan)
    if bootstrap > 0 and rows:
        samples = _bootstrap(ia, ib, outcome, n, resamples=bootstrap, seed=seed, prior=0.5)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    return {a: {"bt": float(theta[i]), "low": _float(low[i]), "high": _float(high[i])}
            for i, a in enumerate(agents)}


def win_rates(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """agent -> opponent -> ``wins``, ``ties``, ``losses``, ``n``, ``rate``."""
    table: dict[str, dict[str, dict[str, Any]]] = defaultdict(
        lambda: defaultdict(lambda: {"wins": 0, "ties": 0, "losses": 0}))
    for j in rows:
        a, b, won = j["left"], j["right"], winner(j)
        for me, other in ((a, b), (b, a)):
            cell = table[me][other]
            key = "ties" if won is None else "wins" if won == me else "losses"
            cell[key] += 1
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for me in sorted(table):
        out[me] = {}
        for other in sorted(table[me]):
            c = table[me][other]
            n = c["wins"] + c["ties"] + c["losses"]
            out[me][other] = {**c, "n": n, "rate": (c["wins"] + c["ties"] / 2) / n}
    return out


def alpha(rows: Sequence[dict[str, Any]]) -> tuple[float | None, int]:
    """Krippendorff's α (nominal) over pairs that two or more raters judged, and how
    many such pairs there are."""
    import krippendorff

    by_pair: dict[str, dict[str, str]] = defaultdict(dict)
    for j in rows:
        by_pair[j["pair_id"]][j["rater"]] = j["choice"]
    units = sorted(p for p, r in by_pair.items() if len(r) >= 2)
    raters = sorted({r for p in units for r in by_pair[p]})
    if not units:
        return None, 0
    data = np.full((len(raters), len(units)), np.nan)
    for u, p in enumerate(units):
        for r, choice in by_pair[p].items():
            data[raters.index(r), u] = VALUE[choice]
    if len({v for v in data.ravel() if not np.isnan(v)}) < 2:
        return None, len(units)  # one value everywhere: α is undefined
    return _float(krippendorff.alpha(reliability_data=data,
                                     level_of_measurement="nominal")), len(units)


def consistency(judgements: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """rater -> ``compared`` (criterion answers on repeated pairs), ``same``, ``rate``."""
    answers = {(j["rater"], j["pair_id"], j["criterion"]): j for j in judgements}
    out: dict[str, dict[str, Any]] = {}
    for j in judgements:
        if j.get("repeat_of") is None:
            continue
        first = answers.get((j["rater"], j["repeat_of"], j["criterion"]))
        if first is None:
            continue
        entry = out.setdefault(j["rater"], {"compared": 0, "same": 0})
        entry["compared"] += 1
        entry["same"] += int(winner(first) == winner(j))
    for entry in out.values():
        entry["rate"] = entry["same"] / entry["compared"]
    return dict(sorted(out.items()))


def pair_means(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """pair_id -> mean of +1 (left), 0 (tie), −1 (right) over its judgements."""
    sums: dict[str, list[float]] = defaultdict(list)
    for j in rows:
        sums[j["pair_id"]].append(SIGN[j["choice"]])
    return {p: float(np.mean(v)) for p, v in sums.items()}


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, float | None]:
    """ρ and its p-value; None when fewer than 3 points or a side is constant."""
    from scipy import stats

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None, None
    result = stats.spearmanr(x, y)
    return _float(result.statistic), _float(result.pvalue)


def criteria_spearman(judgements: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``"a~b"`` -> ``rho``, ``p_value``, ``pairs`` for each two criteria."""
    means = {c: pair_means([j for j in judgements if j["criterion"] == c]) for c in CRITERIA}
    out: dict[str, dict[str, Any]] = {}
    for i, a in enumerate(CRITERIA):
        for b in CRITERIA[i + 1:]:
            common = sorted(set(means[a]) & set(means[b]))
            rho, p = spearman([means[a][k] for k in common], [means[b][k] for k in common])
            out[f"{a}~{b}"] = {"rho": rho, "p_value": p, "pairs": len(common)}
    return out


def against_reward(judgements: Sequence[dict[str, Any]], rewards: dict[str, tuple[Any, Any]],
                   bt: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """People's originality against the automatic reward, per pair and per writer."""
    original = [j for j in judgements if j["criterion"] == "original"]
    means = pair_means(original)
    per_pair, human, auto = [], [], []
    same = picked = 0
    texts: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for j in original:
        pid = j["pair_id"]
        left, right = rewards.get(pid, (None, None))
        if pid in seen or left is None or right is None:
            continue
        seen.add(pid)
        texts[j["left"]].append(float(left))
        texts[j["right"]].append(float(right))
        diff = float(left) - float(right)
        per_pair.append({"pair_id": pid, "human": means[pid], "reward_left": float(left),
                         "reward_right": float(right)})
        human.append(means[pid])
        auto.append(diff)
        if means[pid] != 0 and diff != 0:
            picked += 1
            same += int(np.sign(means[pid]) == np.sign(diff))
    pair_rho, pair_p = spearman(human, auto)
    names = sorted(set(texts) & set(bt))
    per_writer = {n: {"human_bt": bt[n]["bt"], "reward_mean": float(np.mean(texts[n]))}
                  for n in names}
    writer_rho, _ = spearman([per_writer[n]["human_bt"] for n in names],
                             [per_writer[n]["reward_mean"] for n in names])
    top_human = max(names, key=lambda n: per_writer[n]["human_bt"]) if names else None
    top_reward = max(names, key=lambda n: per_writer[n]["reward_mean"]) if names else None
    share = same / picked if picked else None
    disagree = any(v is not None and v < 0 for v in (pair_rho, writer_rho)) or \
        (share is not None and share < 0.5) or \
        (len(names) >= 2 and top_human != top_reward)
    known = any(v is not None for v in (pair_rho, writer_rho, share))
    if not known:
        verdict = "too few judged pairs to compare people with the automatic reward"
    elif disagree:
        verdict = (f"people and the automatic originality reward DISAGREE: people put "
                   f"{top_human} first, the reward {top_reward}; ρ over pairs "
                   f"{_txt(pair_rho)}, over writers {_txt(writer_rho)}; same side in "
                   f"{_txt(share)} of the pairs")
    else:
        verdict = (f"people and the automatic originality reward agree: both put "
                   f"{top_human} first; ρ over pairs {_txt(pair_rho)}, over writers "
                   f"{_txt(writer_rho)}; same side in {_txt(share)} of the pairs")
    return {"agree": None if not known else not disagree, "verdict": verdict,
            "pairs": {"rho": pair_rho, "p_value": pair_p, "compared": len(per_pair),
                      "picked": picked, "same_side": same, "share": share,
                      "rows": per_pair},
            "writers": {"rho": writer_rho, "top_human": top_human, "top_reward": top_reward,
                        "rows": per_writer}}


def _txt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}" if value < 0 else f"{value:.2f}"


def human_summary(judgements: Sequence[dict[str, Any]], *,
                  rewards: dict[str, tuple[Any, Any]] | None = None, bootstrap: int = BOOTSTRAP,
                  seed: int = 0) -> dict[str, Any]:
    """Every figure of the module docstring, JSON-ready."""
    by_criterion = {c: [j for j in judgements if j["criterion"] == c] for c in CRITERIA}
    bt = {c: strengths(rows, bootstrap=bootstrap, seed=seed) for c, rows in by_criterion.items()}
    alphas = {c: alpha(rows) for c, rows in by_criterion.items()}
    raters: dict[str, int] = defaultdict(int)
    for j in judgements:
        raters[j["rater"]] += 1
    spear = criteria_spearman(judgements)
    return {
        "judgements": len(judgements),
        "pairs": len({j["pair_id"] for j in judgements}),
        "raters": dict(sorted(raters.items())),
        "bradley_terry": {c: {a: v["bt"] for a, v in sorted(s.items(), key=lambda kv:
                                                            -kv[1]["bt"])}
                          for c, s in bt.items()},
        "bradley_terry_ci": {c: {a: {"low": v["low"], "high": v["high"]} for a, v in s.items()}
                             for c, s in bt.items()},
        "win_rates": {c: win_rates(rows) for c, rows in by_criterion.items()},
        "alpha": {c: a for c, (a, _) in alphas.items()},
        "alpha_pairs": {c: n for c, (_, n) in alphas.items()},
        "consistency": consistency(judgements),
        "spearman": {k: v["rho"] for k, v in spear.items()},
        "spearman_detail": spear,
        "automatic": against_reward(judgements, rewards or {}, bt["original"]),
    }
