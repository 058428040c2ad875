"""The alignment trade-off: benchmark scores against unpredictability, across models.

Input: per model its benchmark scores (name -> score), its ``family`` and ``stage``
(0 base, then one per stage of alignment), and per measure a value for each model.

* **Across models**: for each benchmark and each measure, Spearman's ρ over the models
  that have both, with a 95% interval from 1,000 bootstrap resamples of the models (a
  seeded ``numpy.random.Generator``; a resample in which either side is constant has no
  ρ and is left out). With fewer than ``MIN_MODELS`` (4) models, no ρ is computed and
  ``note`` says so.
* **Within a family, over stages**: each measure's values in stage order, Spearman's ρ
  between stage and value (with 3 or more stages), and ``monotone``: ``"rising"`` when
  every further stage has a higher value, ``"falling"`` when lower, else null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

MIN_MODELS = 4
BOOTSTRAP = 1000


def _rho(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy import stats

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    value = float(stats.spearmanr(x, y).statistic)
    return value if np.isfinite(value) else None


def _bootstrap_rho(x: np.ndarray, y: np.ndarray, *, resamples: int, seed: int
                   ) -> tuple[float | None, float | None]:
    """Percentile 95% interval of ρ over resamples of the models (ranks, then Pearson)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(x), size=(resamples, len(x)))
    rx = stats.rankdata(x[pick], axis=1)
    ry = stats.rankdata(y[pick], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    ok = denom > 0
    if not ok.any():
        return None, None
    rhos = (rx * ry).sum(axis=1)[ok] / denom[ok]
    low, high = np.percentile(rhos, [2.5, 97.5])
    return float(low), float(high)


def across_models(benchmarks: Mapping[str, Mapping[str, float]],
                  measures: Mapping[str, Mapping[str, float | None]], *,
                  bootstrap: int = BOOTSTRAP, seed: int = 0) -> dict[str, dict[str, Any]]:
    """benchmark -> measure -> ``rho``, ``low``, ``high``, ``models``, ``points``, ``note``.

    ``benchmarks``: model -> benchmark -> score; ``measures``: measure -> model -> value.
    """
    names = sorted({b for scores in benchmarks.values() for b in scores})
    out: dict[str, dict[str, Any]] = {}
    for bench in names:
        out[bench] = {}
        for measure, values in measures.items():
            models = sorted(m for m, scores in benchmarks.items()
                            if bench in scores and values.get(m) is not None)
            points = [{"model": m, "benchmark": float(benchmarks[m][bench]),
                       "value": float(values[m])} for m in models]
            entry: dict[str, Any] = {"rho": None, "low": None, "high": None,
                                     "models": len(models), "points": points, "note": None}
            if len(models) < MIN_MODELS:
                entry["note"] = (f"{len(models)} models with both; a correlation needs at "
                                 f"least {MIN_MODELS}")
            else:
                x = np.array([p["benchmark"] for p in points])
                y = np.array([p["value"] for p in points])
                entry["rho"] = _rho(x, y)
                if entry["rho"] is None:
                    entry["note"] = "one side is the same for every model: no correlation"
                else:
                    entry["low"], entry["high"] = _bootstrap_rho(x, y, resamples=bootstrap,
                                                                 seed=seed)
            out[bench][measure] = entry
    return out


def over_stages(models: Mapping[str, Mapping[str, Any]],
                measures: Mapping[str, Mapping[str, float | None]]
                ) -> dict[str, dict[str, Any]]:
    """family -> measure -> ``points`` (``model``, ``stage``, ``value`` in stage order),
    ``rho`` (stage against value) and ``monotone``.

    ``models``: model -> ``family`` and ``stage`` (models without both are left out).
    """
    families: dict[str, list[tuple[int, str]]] = {}
    for name, tags in models.items():
        if tags.get("family") and tags.get("stage") is not None:
            families.setdefault(str(tags["family"]), []).append((int(tags["stage"]), name))
    out: dict[str, dict[str, Any]] = {}
    for family in sorted(families):
        members = sorted(families[family])
        out[family] = {}
        for measure, values in measures.items():
            points = [{"model": m, "stage": s, "value": float(values[m])}
                      for s, m in members if values.get(m) is not None]
            if not points:
                continue
            stages = np.array([p["stage"] for p in points], dtype=float)
            vals = np.array([p["value"] for p in points])
            steps = np.diff(vals)
            monotone = None
            if len(points) >= 2 and len(set(stages)) == len(stages):
                monotone = "rising" if (steps > 0).all() else \
                    "falling" if (steps < 0).all() else None
            out[family][measure] = {"points": points, "rho": _rho(stages, vals),
                                    "monotone": monotone}
    return out
