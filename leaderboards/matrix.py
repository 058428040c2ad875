"""The pairwise matrix: every agent's mean net reward per round against every other.

``values[i, j]`` is agent *i*'s total reward over its finished matches against *j*,
divided by the rounds of those matches (both seats, and in hide-and-seek both roles).
With +1/0/-1 rounds that is net wins per round, so the matrix of a zero-sum game is
antisymmetric. Pairs that never finished a match hold NaN, and so does the diagonal.

Each value has a 95% interval ``[low, high]``: the value ± 1.96 standard errors, where
the standard error is the larger of two:

* chance's: ``sqrt(v / R)`` over the pair's ``R`` rounds, with ``v`` one round's
  variance between two uniform players (the null model of the rating's margin rule,
  :mod:`leaderboards.contests`; rock-paper-scissors' 2/3 unless the caller gives the
  game's own);
* the spread between the pair's matches (a hide-and-seek pair counted as one, so its
  two roles do not pass for spread): ``sqrt(M / (M - 1) * sum_k (x_k - value * r_k)^2) / R``
  over its ``M >= 2`` matches of net ``x_k`` in ``r_k`` rounds.

So a cell is only called a win (its interval excludes 0) when it is beyond both what
chance gives and how much the pair's matches disagree.

>>> recs = [{"agents": ["a", "b"], "status": "finished", "rounds": 4,
...          "scores": {"a": 2.0, "b": -2.0}}]
>>> pairwise_matrix(recs).get("a", "b")
0.5
>>> [round(x, 3) for x in pairwise_matrix(recs).interval("a", "b")]   # 0.5 ± 1.96 * 0.408
[-0.3, 1.3]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from leaderboards.contests import FORFEIT, RPS_ROUND_VARIANCE, Record
from leaderboards.table import literal, visible

CAPTION = ("row agent's mean net reward per round against column agent; ± half its 95% "
           "interval; dim: the interval includes 0")
#: the normal quantile of a two-sided 95% interval
Z95 = 1.959963984540054


@dataclass
class PairwiseMatrix:
    """Agents (in the order asked for, else sorted) and the ``values``/``rounds``
    matrices indexed like them; ``low``/``high`` bound each value's 95% interval."""

    agents: list[str]
    values: np.ndarray
    rounds: np.ndarray
    title: str | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.low is None:
            self.low = np.full_like(self.values, np.nan, dtype=float)
        if self.high is None:
            self.high = np.full_like(self.values, np.nan, dtype=float)

    def get(self, row: str, col: str) -> float:
        """Mean net per round of ``row`` against ``col`` (NaN when they never met)."""
        return float(self.values[self.agents.index(row), self.agents.index(col)])

    def interval(self, row: str, col: str) -> tuple[float, float]:
        """The 95% interval of :meth:`get` (NaNs when they never met)."""
        i, j = self.agents.index(row), self.agents.index(col)
        return float(self.low[i, j]), float(self.high[i, j])  # type: ignore[index]

    def significant(self, i: int, j: int) -> bool:
        """Whether the interval of cell ``(i, j)`` excludes 0."""
        low, high = float(self.low[i, j]), float(self.high[i, j])  # type: ignore[index]
        return low > 0 or high < 0

    def pairs(self) -> Iterable[tuple[str, str, float]]:
        """``(row, col, value)`` for every pair that met, row-major."""
        for i, a in enumerate(self.agents):
            for j, b in enumerate(self.agents):
                if i != j and not math.isnan(self.values[i, j]):
                    yield a, b, float(self.values[i, j])

    def to_json_obj(self) -> dict[str, Any]:
        """``{"agents": [...], "values": [[...]], "low": [[...]], "high": [[...]]}``
        with None for pairs that never met."""
        def plain(matrix: np.ndarray) -> list[list[float | None]]:
            return [[None if math.isnan(v) else float(v) for v in row] for row in matrix]

        return {"agents": list(self.agents), "values": plain(self.values),
                "low": plain(self.low), "high": plain(self.high)}  # type: ignore[arg-type]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Rows and columns named by the agents (columns by :func:`aliases`, listed under
        the table), cells green > 0 > red, every digit shown.

        Too many agents for the width: the columns come in blocks of as many as fit, one
        table each, rather than Rich cutting names and digits off to squeeze them in.
        """
        from leaderboards.fit import split

        tables = split(lambda columns: self.fit_table(columns, console=console),
                       len(self.agents), options.max_width, console)
        for i, table in enumerate(tables):
            if i:
                yield Text("")
            yield table

    def fit_table(self, columns: Iterable[int] | None = None, *,
                  console: Console | None = None) -> Any:
        """The :class:`~leaderboards.fit.FitTable` of the given column indices (default:
        all agents); the block that ends with the last agent adds the row means, the
        caption and the legend of the column names."""
        from leaderboards.fit import Col, FitTable

        n = len(self.agents)
        columns = list(range(n) if columns is None else columns)
        last = not columns or columns[-1] == n - 1
        short = aliases(self.agents)
        legend = [f"{short[a]} = {a}" for a in self.agents if short[a] != a]
        first = not columns or columns[0] == 0
        cols = [Col("agent", number=False, min_width=8),
                *[Col(short[self.agents[j]]) for j in columns]]
        if last:
            cols.append(Col("mean", style="bold"))
        notes = [f"columns: {', '.join(visible(x) for x in legend)}"] if legend and last else []
        # one space between columns: twelve agents' columns fit 80 characters
        table = FitTable(cols, title=self.title if first else None,
                         caption=CAPTION if last else None, notes=notes, gap=1)
        for i, agent in enumerate(self.agents):
            cells: list[Text | str] = [literal(agent)]
            for j in columns:
                value = float(self.values[i, j])
                if math.isnan(value):
                    cells.append(Text("·", style="dim"))
                    continue
                style = ("green" if value > 0 else "red" if value < 0 else "dim") \
                    if self.significant(i, j) else "dim"
                cell = Text(_short(value), style=style)
                half = (float(self.high[i, j]) - float(self.low[i, j])) / 2  # type: ignore[index]
                if not math.isnan(half):
                    cell.append("\n" + _half(half), style="dim")
                cells.append(cell)
            if last:
                played = [v for v in self.values[i] if not math.isnan(v)]
                cells.append(_short(sum(played) / len(played)) if played else "·")
            table.add_row(*cells)
        return table


def aliases(names: list[str], *, width: int = 4) -> dict[str, str]:
    """A distinct column name of at most ``width`` characters for each of ``names``: the
    name itself when short enough, else its start (``iocaine`` -> ``ioca``), with a
    number where two starts agree (``smollm2-a``, ``smollm2-b`` -> ``smol``, ``smo2``)."""
    out: dict[str, str] = {}
    taken = {n for n in names if len(n) <= width}
    for name in names:
        if len(name) <= width:
            out[name] = name
            continue
        alias = name[:width]
        k = 1
        while alias in taken:
            k += 1
            alias = name[: width - len(str(k))] + str(k)
        taken.add(alias)
        out[name] = alias
    return out


def _short(value: float) -> str:
    """Four characters, so that ten agents fit 80 columns: ``+.25``, ``-1.0``, ``+2.5``.

    A wider cell (``+1.00``) would make Rich shrink a column and cut digits off.
    """
    if abs(value) < 0.995:
        return f"{value:+.2f}".replace("0.", ".", 1)
    return f"{value:+.1f}" if abs(value) < 9.95 else f"{value:+.0f}"


def _half(value: float) -> str:
    """``±`` and three more characters, like :func:`_short`: ``±.06``, ``±1.2``."""
    text = _short(value)
    return "±" + text[1:]


def pairwise_matrix(records: Iterable[Record], *, title: str | None = None,
                    order: Iterable[str] | None = None,
                    round_variance: float = RPS_ROUND_VARIANCE) -> PairwiseMatrix:
    """Build the matrix from two-player records (forfeited matches add no values).

    ``order`` lists agents first (the leaderboard's order, say); the rest follow sorted.
    ``round_variance`` is one round's variance between uniform players in this game
    (the chance floor of the intervals, see the module docstring).
    """
    pairwise = [r for r in records if len(r.get("agents") or ()) == 2]
    finished = [r for r in pairwise if r.get("status") != FORFEIT]
    # Agents that only ever forfeited still get a (blank) row.
    present = {name for r in pairwise for name in r["agents"]}
    first = [a for a in dict.fromkeys(order or ()) if a in present]
    agents = first + sorted(present - set(first))
    index = {a: i for i, a in enumerate(agents)}
    n = len(agents)
    totals = np.zeros((n, n))
    rounds = np.zeros((n, n), dtype=int)
    # per ordered pair: unit (a match, or a hide-and-seek pair) -> [net, rounds]
    units: dict[tuple[int, int], dict[str, list[float]]] = {}
    for record in finished:
        a, b = record["agents"]
        if a == b:
            continue
        played = int(record.get("rounds") or 0)
        scores = record.get("scores") or {}
        unit = str(record.get("group") or record.get("key") or id(record))
        for me, other in ((a, b), (b, a)):
            i, j = index[me], index[other]
            net = float(scores.get(me, 0.0))
            totals[i, j] += net
            rounds[i, j] += played
            tally = units.setdefault((i, j), {}).setdefault(unit, [0.0, 0.0])
            tally[0] += net
            tally[1] += played
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(rounds > 0, totals / np.maximum(rounds, 1), np.nan)
    low = np.full((n, n), np.nan)
    high = np.full((n, n), np.nan)
    for (i, j), found in units.items():
        total_rounds = rounds[i, j]
        if total_rounds <= 0:
            continue
        value = values[i, j]
        se = math.sqrt(round_variance / total_rounds)
        if len(found) >= 2:
            m = len(found)
            spread = sum((net - value * r) ** 2 for net, r in found.values())
            se = max(se, math.sqrt(m / (m - 1) * spread) / total_rounds)
        low[i, j] = value - Z95 * se
        high[i, j] = value + Z95 * se
    return PairwiseMatrix(agents, values, rounds, title, low, high)
