"""Ratings and tables built from plain match records.

This package works on the records handed to it (mappings with the keys documented in
``arena.records``) and imports nothing from ``arena``.

* :func:`build_leaderboard`: TrueSkill for two-player games, in schedule order.
* :class:`OutcomeRule`, :func:`round_variance`: how a match's margin decides its rated
  outcome (a win only beyond ``margin_sd`` standard deviations of two uniform players'
  net over those rounds, else a draw), the same rule for every rating here.
* :func:`build_solo_leaderboard`: solo tasks (mean reward, 95% CI, free-for-all TrueSkill).
* :class:`LiveRatings`: the same ratings updated in finish order, for the live view.
* :func:`bradley_terry`: order-free strengths with bootstrap intervals.
* :func:`pairwise_matrix`, :func:`dominance_graph`, :func:`cycles`: who beats whom, with
  95% intervals; the graph keeps only the edges whose interval excludes 0.
* :func:`numbers_summary`, :func:`matrix_summary`, :func:`find_rates`,
  :func:`writing_summary`: the analysis of random numbers, of predictability and
  exploitability in matrix games, and of writing (``analysis_*`` modules; scipy is
  imported when a statistic needs it).
"""

from leaderboards.analysis_games import find_rates, matrix_summary
from leaderboards.analysis_numbers import numbers_summary
from leaderboards.analysis_writing import writing_summary
from leaderboards.bradley_terry import add_bradley_terry, bradley_terry
from leaderboards.contests import Contest, OutcomeRule, contests, is_solo, round_variance
from leaderboards.graph import cycles, dominance_graph
from leaderboards.live import LiveRatings
from leaderboards.matrix import PairwiseMatrix, pairwise_matrix
from leaderboards.solo import build_solo_leaderboard
from leaderboards.table import Leaderboard
from leaderboards.trueskill_ratings import build_leaderboard

__all__ = [
    "is_solo",
    "Contest",
    "Leaderboard",
    "LiveRatings",
    "OutcomeRule",
    "PairwiseMatrix",
    "add_bradley_terry",
    "bradley_terry",
    "build_leaderboard",
    "build_solo_leaderboard",
    "contests",
    "cycles",
    "dominance_graph",
    "find_rates",
    "matrix_summary",
    "numbers_summary",
    "pairwise_matrix",
    "round_variance",
    "writing_summary",
]
