"""The trade-off across models (benchmarks against measures) and over stages."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from leaderboards.tradeoff import across_models, over_stages


def test_rho_is_spearmans_with_a_seeded_bootstrap_interval() -> None:
    rng = np.random.default_rng(3)
    names = [f"m{i}" for i in range(7)]
    bench = {n: {"mmlu": float(v)} for n, v in zip(names, rng.normal(60, 10, 7), strict=True)}
    values = {n: float(v) for n, v in zip(names, rng.normal(0, 1, 7), strict=True)}
    out = across_models(bench, {"chi2_per_n": values})["mmlu"]["chi2_per_n"]
    expected = stats.spearmanr([bench[n]["mmlu"] for n in names], [values[n] for n in names])
    assert out["rho"] == pytest.approx(expected.statistic)
    assert out["low"] <= out["rho"] <= out["high"] and out["models"] == 7
    assert across_models(bench, {"chi2_per_n": values})["mmlu"]["chi2_per_n"] == out
    assert {p["model"] for p in out["points"]} == set(names)


def test_fewer_than_four_models_give_no_correlation() -> None:
    bench = {"a": {"mmlu": 1.0}, "b": {"mmlu": 2.0}, "c": {"mmlu": 3.0}, "d": {}}
    out = across_models(bench, {"x": {"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.0}})["mmlu"]["x"]
    assert out["rho"] is None and out["models"] == 3
    assert "at least 4" in out["note"]


def test_a_constant_side_has_no_rho() -> None:
    bench = {n: {"b": float(i)} for i, n in enumerate("abcd")}
    out = across_models(bench, {"x": dict.fromkeys("abcd", 1.0)})["b"]["x"]
    assert out["rho"] is None and out["note"]


def test_stages_in_order_with_their_trend() -> None:
    models = {"base": {"family": "f", "stage": 0}, "sft": {"family": "f", "stage": 1},
              "dpo": {"family": "f", "stage": 2}, "final": {"family": "f", "stage": 3},
              "other": {"family": None, "stage": 1}}
    values = {"final": 4.0, "base": 1.0, "dpo": 3.0, "sft": 2.0, "other": 9.0}
    out = over_stages(models, {"chi2_per_n": values, "mixed": {"base": 1, "sft": 3, "dpo": 2}})
    chi = out["f"]["chi2_per_n"]
    assert [p["model"] for p in chi["points"]] == ["base", "sft", "dpo", "final"]
    assert chi["monotone"] == "rising" and chi["rho"] == pytest.approx(1.0)
    assert out["f"]["mixed"]["monotone"] is None
    assert list(out) == ["f"]
