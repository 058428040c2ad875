"""Random-number statistics against values worked out by hand, and against scipy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from leaderboards.analysis_numbers import (
    DEFINITIONS,
    chi_square,
    entropy_bits,
    kl_uniform_bits,
    lag1_correlation,
    numbers_summary,
    repeats,
    runs_test,
    uniform_repeats_distribution,
    uniform_repeats_moments,
    value_counts,
)


def series(agent: str, episodes: list[list[int]], policies: list[list] | None = None) -> dict:
    """One solo record: ``episodes`` of numbers, with a policy per step when given."""
    log = []
    for e, numbers in enumerate(episodes):
        for s, value in enumerate(numbers):
            probs = {} if policies is None or policies[e][s] is None else \
                {agent: policies[e][s]}
            log.append({"episode": e, "step": s, "actions": {agent: value},
                        "probabilities": probs, "rewards": {agent: 0.5}})
    return {"key": f"random_number/{agent}", "game": "random_number", "agents": [agent],
            "roles": ["solo"], "round_log": log}


def test_counts_cover_every_value_of_the_range():
    assert value_counts([0, 0, 2], 0, 2).tolist() == [2, 0, 1]
    assert value_counts([5, 7], 5, 8).tolist() == [1, 0, 1, 0]


def test_chi_square_by_hand_and_against_scipy():
    out = chi_square([10, 20, 30])
    # N = 60, E = 20: (100 + 0 + 100) / 20 = 10 on 2 dof, whose survival function is e^(-x/2)
    assert out["chi2"] == pytest.approx(10.0)
    assert out["dof"] == 2 and out["n"] == 60
    assert out["p_value"] == pytest.approx(math.exp(-5))
    assert out["chi2_per_n"] == pytest.approx(10 / 60)
    ref = stats.chisquare([10, 20, 30])
    assert out["chi2"] == pytest.approx(ref.statistic) and out["p_value"] == pytest.approx(ref.pvalue)


@pytest.mark.parametrize("counts", [[3, 6, 6, 2, 10, 3, 4, 5, 4, 5, 2], [0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0],
                                    [1, 1]])
def test_chi_square_matches_scipy(counts):
    ref = stats.chisquare(counts)
    out = chi_square(counts)
    assert out["chi2"] == pytest.approx(ref.statistic, rel=1e-12)
    assert out["p_value"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_chi_square_of_nothing_is_undefined():
    assert chi_square([0, 0, 0])["chi2"] is None


def test_entropy_and_kl_in_bits():
    p = [0.5, 0.25, 0.25]
    assert entropy_bits(p) == pytest.approx(1.5)
    assert kl_uniform_bits(p) == pytest.approx(math.log2(3) - 1.5)
    assert entropy_bits(p) == pytest.approx(stats.entropy(p, base=2))
    assert kl_uniform_bits(p) == pytest.approx(stats.entropy(p, [1 / 3] * 3, base=2))
    # counts are normalised; 0 log 0 = 0
    assert entropy_bits([2, 0, 0]) == 0.0
    assert kl_uniform_bits([2, 0, 0]) == pytest.approx(math.log2(3))
    assert kl_uniform_bits([1, 1, 1, 1]) == pytest.approx(0.0)


def test_repeats_per_sequence():
    assert repeats([1, 1, 2]) == 1
    assert repeats([7] * 10) == 9
    assert repeats(list(range(10))) == 0


def test_uniform_repeats_distribution_small_cases_by_hand():
    # two draws of three values: a repeat when the second equals the first, 1/3
    assert uniform_repeats_distribution(2, 3).tolist() == pytest.approx([2 / 3, 1 / 3])
    # three coin flips: all equal (2 of 8 sequences) -> 2 repeats, else 1
    assert uniform_repeats_distribution(3, 2).tolist() == pytest.approx([0, 3 / 4, 1 / 4])


@pytest.mark.parametrize("length, k", [(4, 3), (5, 2), (3, 5), (6, 4)])
def test_uniform_repeats_distribution_by_enumeration(length, k):
    tally = np.zeros(length)
    for seq in itertools.product(range(k), repeat=length):
        tally[repeats(seq)] += 1
    assert uniform_repeats_distribution(length, k) == pytest.approx(tally / k ** length)


def test_paper_case_l10_k11_has_mean_3_24():
    dist = uniform_repeats_distribution(10, 11)
    r = np.arange(10)
    mean, var = uniform_repeats_moments(10, 11)
    assert dist.sum() == pytest.approx(1.0)
    assert mean == pytest.approx(10 - 11 * (1 - (10 / 11) ** 10))
    assert round(mean, 2) == 3.24
    assert (dist * r).sum() == pytest.approx(mean)
    assert (dist * r * r).sum() - mean ** 2 == pytest.approx(var)
    # no repeat at all: 11 * 10 * ... * 2 ordered draws out of 11^10
    assert dist[0] == pytest.approx(math.factorial(11) / 11 ** 10)


def test_runs_test_by_hand():
    # middle 5: marks above, below, above, above, below -> 4 runs; n1 = 3, n2 = 2
    out = runs_test([[9, 1, 9, 9, 1]], 5)
    e = 2 * 3 * 2 / 5 + 1
    var = 2 * 3 * 2 * (2 * 3 * 2 - 5) / (5 ** 2 * 4)
    assert out["runs"] == 4 and out["expected"] == pytest.approx(e)
    assert out["variance"] == pytest.approx(var)
    z = (4 - e) / math.sqrt(var)
    assert out["z"] == pytest.approx(z)
    assert out["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_runs_test_drops_the_middle_and_pools_sequences():
    assert runs_test([[9, 5, 1]], 5)["marks"] == 2
    pooled = runs_test([[9, 1], [9, 9]], 5)
    assert pooled["runs"] == 3 and pooled["expected"] == pytest.approx(3.0)
    assert pooled["z"] is None  # no variance: nothing to test


def test_lag1_correlation_against_scipy():
    # pairs (1,2) (2,3) (3,2) (2,1): centred products cancel, r = 0
    assert lag1_correlation([[1, 2, 3], [3, 2, 1]])["r"] == pytest.approx(0.0, abs=1e-12)
    seqs = [[0, 3, 5, 5, 9, 2], [4, 4, 8, 1]]
    out = lag1_correlation(seqs)
    ref = stats.pearsonr([0, 3, 5, 5, 9, 4, 4, 8], [3, 5, 5, 9, 2, 4, 8, 1])
    assert out["pairs"] == 8
    assert out["r"] == pytest.approx(ref[0]) and out["p_value"] == pytest.approx(ref[1])
    assert lag1_correlation([[7, 7, 7, 7]])["r"] is None  # constant: undefined


def test_summary_of_a_series_by_hand():
    third = [1 / 3] * 3
    record = series("a", [[1, 1, 2], [3, 3, 3]], [[third] * 3, [third] * 3])
    out = numbers_summary([record], "a", low=1, high=3, length=3)
    assert out["counts"] == [2, 1, 3] and out["n"] == 6
    # E = 2: (0 + 1 + 1) / 2 = 1
    assert out["chi2"] == pytest.approx(1.0) and out["chi2_per_n"] == pytest.approx(1 / 6)
    assert out["entropy_bits"] == pytest.approx(stats.entropy([2, 1, 3], base=2))
    assert out["repeats"]["mean"] == pytest.approx(1.5)  # 1 and 2
    assert out["repeats"]["histogram"] == [0, 1, 1]
    exact = out["exact"]
    assert exact["expected_counts"] == pytest.approx([2, 2, 2])
    assert exact["chi2_per_n"] == pytest.approx(0.0)
    assert exact["entropy_bits"] == pytest.approx(math.log2(3))
    # each sequence: 0 + 1/3 + 1/3 expected repeats given what was already said
    assert exact["repeats_mean"] == pytest.approx(2 / 3)


def test_exact_figures_follow_the_policies():
    sure = [[0.0, 1.0, 0.0]] * 2
    out = numbers_summary([series("a", [[2, 2]], [sure])], "a", low=1, high=3, length=2)
    assert out["exact"]["chi2_per_n"] == pytest.approx(3 * ((1 - 1 / 3) ** 2 + 2 / 9))
    assert out["exact"]["kl_bits"] == pytest.approx(math.log2(3))
    assert out["exact"]["repeats_mean"] == pytest.approx(1.0)
    # a step without a policy (a forfeit) counts as the value said
    mixed = numbers_summary([series("a", [[1, 3]], [[[0.5, 0.5, 0.0], None]])], "a", low=1,
                            high=3, length=2)
    assert mixed["exact"]["expected_counts"] == pytest.approx([0.5, 0.5, 1.0])
    assert numbers_summary([series("a", [[1, 3]])], "a", low=1, high=3)["exact"] is None


def test_single_number_task_tests_the_series():
    record = series("a", [[1], [3], [1], [3], [1], [3]])
    out = numbers_summary([record], "a", low=1, high=3, length=1)
    assert out["repeats"] is None
    assert out["runs"]["runs"] == 6  # alternation across episodes
    assert out["lag1"]["r"] == pytest.approx(-1.0)


def test_only_the_agents_own_records_count():
    out = numbers_summary([series("a", [[1, 2]]), series("b", [[3, 3]])], "b", low=1, high=3)
    assert out["counts"] == [0, 0, 2]


def test_definitions_are_written_out():
    text = " ".join(DEFINITIONS)
    for word in ("χ²", "KL", "entropy", "repeats", "runs", "lag-1", "policies"):
        assert word in text
