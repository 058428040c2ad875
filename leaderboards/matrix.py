"""The pairwise matrix: every agent's mean net reward per round against every other.

``values[i, j]`` is agent *i*'s total reward over its finished matches against *j*,
divided by the rounds of those matches (both seats, and in hide-and-seek both roles).
With +1/0/-1 rounds that is net wins per round, so the matrix of a zero-sum game is
antisymmetric. Pairs that never finished a match hold NaN, and so does the diagonal.

>>> recs = [{"agents": ["a", "b"], "status": "finished", "rounds": 4,
...          "scores": {"a": 2.0, "b": -2.0}}]
>>> pairwise_matrix(recs).get("a", "b")
0.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from leaderboards.contests import FORFEIT, Record
from leaderboards.table import compact_table, literal

CAPTION = "row agent's mean net reward per round against column agent"


@dataclass
class PairwiseMatrix:
    """Agents (sorted) and the ``values``/``rounds`` matrices indexed like them."""

    agents: list[str]
    values: np.ndarray
    rounds: np.ndarray
    title: str | None = None

    def get(self, row: str, col: str) -> float:
        """Mean net per round of ``row`` against ``col`` (NaN when they never met)."""
        return float(self.values[self.agents.index(row), self.agents.index(col)])

    def pairs(self) -> Iterable[tuple[str, str, float]]:
        """``(row, col, value)`` for every pair that met, row-major."""
        for i, a in enumerate(self.agents):
            for j, b in enumerate(self.agents):
                if i != j and not math.isnan(self.values[i, j]):
                    yield a, b, float(self.values[i, j])

    def to_json_obj(self) -> dict[str, Any]:
        """``{"agents": [...], "values": [[...]]}`` with None for pairs that never met."""
        return {"agents": list(self.agents),
                "values": [[None if math.isnan(v) else float(v) for v in row]
                           for row in self.values]}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Rows and numbered columns (the same agents), cells green > 0 > red.

        Too many agents for the width: the columns come in blocks of as many as fit, one
        table each, rather than Rich cutting names and digits off to squeeze them in.
        """
        n = len(self.agents)
        names = min(12, max((len(a) for a in self.agents), default=6))
        per = n
        while per > 1:
            probe = self.table(range(per), mean=True, agent_width=names)
            if Measurement.get(console, options.update_width(10_000), probe).maximum \
                    <= options.max_width:
                break
            per -= 1
        for first in range(0, max(n, 1), max(per, 1)):
            if first:
                yield Text("")
            columns = range(first, min(n, first + per))
            yield self.table(columns, mean=first + per >= n, title=first == 0)

    def table(self, columns: Iterable[int] | None = None, *, mean: bool = True,
              title: bool = True, agent_width: int | None = None) -> Table:
        """The Rich table of the given column indices (default: all agents); the block
        with ``mean`` also carries the caption."""
        columns = list(range(len(self.agents)) if columns is None else columns)
        table = compact_table(title=self.title if title else None,
                              caption=CAPTION if mean else None)
        table.add_column("agent", overflow="ellipsis", min_width=6, max_width=agent_width)
        for j in columns:
            table.add_column(str(j + 1), justify="right", no_wrap=True)
        if mean:
            table.add_column("mean", justify="right", no_wrap=True, style="bold")
        for i, agent in enumerate(self.agents):
            cells: list[Text | str] = [str(i + 1), literal(agent)]
            for j in columns:
                value = float(self.values[i, j])
                if math.isnan(value):
                    cells.append(Text("·", style="dim"))
                    continue
                style = "green" if value > 0 else "red" if value < 0 else "dim"
                cells.append(Text(_short(value), style=style))
            if mean:
                played = [v for v in self.values[i] if not math.isnan(v)]
                cells.append(_short(sum(played) / len(played)) if played else "·")
            table.add_row(*cells)
        return table


def _short(value: float) -> str:
    """Four characters, so that ten agents fit 80 columns: ``+.25``, ``-1.0``, ``+2.5``.

    A wider cell (``+1.00``) would make Rich shrink a column and cut digits off.
    """
    if abs(value) < 0.995:
        return f"{value:+.2f}".replace("0.", ".", 1)
    return f"{value:+.1f}" if abs(value) < 9.95 else f"{value:+.0f}"


def pairwise_matrix(records: Iterable[Record], *, title: str | None = None) -> PairwiseMatrix:
    """Build the matrix from two-player records (forfeited matches add no values)."""
    pairwise = [r for r in records if len(r.get("agents") or ()) == 2]
    finished = [r for r in pairwise if r.get("status") != FORFEIT]
    # Agents that only ever forfeited still get a (blank) row.
    agents = sorted({name for r in pairwise for name in r["agents"]})
    index = {a: i for i, a in enumerate(agents)}
    n = len(agents)
    totals = np.zeros((n, n))
    rounds = np.zeros((n, n), dtype=int)
    for record in finished:
        a, b = record["agents"]
        if a == b:
            continue
        played = int(record.get("rounds") or 0)
        scores = record.get("scores") or {}
        for me, other in ((a, b), (b, a)):
            totals[index[me], index[other]] += float(scores.get(me, 0.0))
            rounds[index[me], index[other]] += played
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(rounds > 0, totals / np.maximum(rounds, 1), np.nan)
    return PairwiseMatrix(agents, values, rounds, title)
