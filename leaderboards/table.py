"""The :class:`Leaderboard` object: rows of plain dicts that render themselves.

>>> board = Leaderboard([{"agent": "a", "mu": 27.1, "sigma": 1.2, "score": 23.5}])
>>> board.to_json_obj()[0]["agent"]
'a'

A Leaderboard can be handed straight to ``rich`` (``console.print(board)`` or
``Live(board)``): it renders as a compact table that fits 80 columns and lets the
agent column grow on wider terminals; where too many columns would squeeze the agent
names away, the least needed ones (μ, σ, intervals) are left out of that view, and a
line under the table names them.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# -- showing names and texts as they are -----------------------------------------------
# Names and texts come from configs and agents. In a terminal they are shown literally:
# never as Rich markup (``[bold]``, ``[link=...]``), and with every character that is not
# shown as itself made visible as its escape (``\x1b``, ``\n``, ``\u202e``): C0 and C1
# controls and DEL (terminal escapes, new lines), lone surrogates, and the invisible or
# direction-changing format characters (zero-width spaces and joiners, bidi embeddings,
# overrides and isolates, soft hyphen, BOM, variation selectors, tag characters).
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff9-\ufffb\ud800-\udfff\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]")


def visible(text: Any, *, newlines: bool = False) -> str:
    """``text`` with every hidden character written as its escape (``\x1b``, ``\u200b``);
    ``newlines`` keeps line breaks and tabs (for multi-line messages such as logs)."""
    text = str(text)
    if _HIDDEN.search(text) is None:
        return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if newlines and char in "\n\t":
            return char
        return char.encode("unicode_escape").decode("ascii")

    return _HIDDEN.sub(escape, text)


def literal(text: Any, *, style: str = "") -> Text:
    """``text`` as a Rich :class:`~rich.text.Text`: shown as written (never read as
    markup), hidden characters made :func:`visible`."""
    return Text(visible(text), style=style)


def _num(digits: int) -> Callable[[Any], str]:
    return lambda v: f"{v:.{digits}f}"


def _signed(v: Any) -> str:
    return f"{v:+.3f}"


def _percent(v: Any) -> str:
    return f"{100 * v:.1f}%"


def _int(v: Any) -> str:
    return str(int(v))


@dataclass(frozen=True)
class Column:
    """How a row key is shown: compact terminal header, markdown header, formatter."""

    short: str
    long: str
    fmt: Callable[[Any], str]


COLUMNS: dict[str, Column] = {
    "agent": Column("agent", "agent", str),
    "mu": Column("μ", "mu", _num(2)),
    "sigma": Column("σ", "sigma", _num(2)),
    "score": Column("μ-3σ", "score (mu-3sigma)", _num(2)),
    "wins": Column("W", "wins", _int),
    "losses": Column("L", "losses", _int),
    "draws": Column("D", "draws", _int),
    "matches": Column("n", "matches", _int),
    "net_per_round": Column("net/rd", "net per round", _signed),
    "forfeits": Column("ff", "forfeits", _int),
    "invalid_rate": Column("inval", "invalid answers", _percent),
    "off_mass": Column("off", "off-legal mass", _num(3)),
    "reward_mean": Column("reward", "mean reward", _num(3)),
    "ci_low": Column("ci lo", "95% CI low", _num(3)),
    "ci_high": Column("ci hi", "95% CI high", _num(3)),
    "episodes": Column("eps", "episodes", _int),
    "bt": Column("BT", "Bradley-Terry", _num(2)),
    "bt_low": Column("BT lo", "BT 95% low", _num(2)),
    "bt_high": Column("BT hi", "BT 95% high", _num(2)),
}


def _format(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    column = COLUMNS.get(key)
    if column is None:
        return f"{value:.3g}" if isinstance(value, float) else str(value)
    return column.fmt(value)


class Leaderboard:
    """An ordered list of rows (dicts sharing ``columns``), best first."""

    def __init__(self, rows: Sequence[dict[str, Any]], *, columns: Sequence[str] | None = None,
                 title: str | None = None) -> None:
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows]
        if columns is None:
            columns = list(self.rows[0]) if self.rows else ["agent"]
        self.columns: list[str] = list(columns)
        self.title = title

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Leaderboard({[r.get('agent') for r in self.rows]!r})"

    def agents(self) -> list[str]:
        """Agent names, best first."""
        return [row["agent"] for row in self.rows]

    def row(self, agent: str) -> dict[str, Any]:
        """The row of ``agent`` (KeyError when absent)."""
        for row in self.rows:
            if row["agent"] == agent:
                return row
        raise KeyError(agent)

    def with_columns(self, extra: dict[str, dict[str, Any]], *, keys: Sequence[str]) -> Leaderboard:
        """A copy with ``keys`` added from ``extra[agent]`` (None where an agent is missing)."""
        rows = [{**row, **{k: extra.get(row["agent"], {}).get(k) for k in keys}}
                for row in self.rows]
        columns = self.columns + [k for k in keys if k not in self.columns]
        return Leaderboard(rows, columns=columns, title=self.title)

    def to_json_obj(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts (NaN becomes None)."""
        return [{k: _json_value(row.get(k)) for k in self.columns} for row in self.rows]

    def to_csv(self) -> str:
        """CSV with a header of the row keys; text cells made safe for spreadsheets
        (:func:`leaderboards.csv_safe.safe_cell`), numbers left numbers."""
        from leaderboards.csv_safe import safe_cell, safe_row

        out = io.StringIO()
        plain = csv.writer(out, lineterminator="\n")
        # Python's writer leaves a lone CR unquoted under "\n" line ends (a reader would
        # split the row there): such a row quotes every text instead
        quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        plain.writerow(safe_row(self.columns))
        for row in self.to_json_obj():
            cells = ["" if (v := row.get(k)) is None else safe_cell(v) for k in self.columns]
            risky = any(isinstance(c, str) and "\r" in c for c in cells)
            (quoted if risky else plain).writerow(cells)
        return out.getvalue()

    def to_markdown(self) -> str:
        """A GitHub-flavoured markdown table with a rank column."""
        headers = ["#"] + [COLUMNS[k].long if k in COLUMNS else k for k in self.columns]
        aligns = ["---:"] + [":---" if k == "agent" else "---:" for k in self.columns]
        lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(aligns) + " |"]
        for rank, row in enumerate(self.rows, 1):
            cells = [str(rank)] + [visible(_format(k, row.get(k))).replace("|", "\\|")
                                   for k in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # When not even 10 characters are left for the names, Rich would squeeze every
        # column, the names first, down to nothing: drop the least needed columns instead.
        columns = list(self.columns)
        for key in (None, *_DROPPED_FIRST):
            if key in columns:
                columns.remove(key)
            narrowest = Measurement.get(console, options.update_width(10_000),
                                        self.table(columns, agent_width=10))
            if narrowest.maximum <= options.max_width:
                break
        yield self.table(columns)
        dropped = [k for k in self.columns if k not in columns]
        if dropped:  # never silently: one line names what is not shown
            yield Text(dropped_note(dropped, options.max_width), style="dim", no_wrap=True,
                       overflow="ellipsis")

    def table(self, columns: Sequence[str] | None = None, *,
              agent_width: int | None = None) -> Table:
        """The Rich table of ``columns`` (default: all); ``agent_width`` fixes the names'."""
        table = compact_table(title=self.title)
        columns = self.columns if columns is None else list(columns)
        for key in columns:
            header = COLUMNS[key].short if key in COLUMNS else key
            if key == "agent":
                # The only wrappable column, so it is the one Rich shrinks to fit.
                table.add_column(header, overflow="ellipsis", min_width=6,
                                 max_width=agent_width)
            else:
                table.add_column(header, justify="right", no_wrap=True)
        for rank, row in enumerate(self.rows, 1):
            table.add_row(str(rank), *(_cell(key, row.get(key)) for key in columns))
        return table


def compact_table(*, title: str | None = None, caption: str | None = None) -> Table:
    """A Rich table opening with a dim ``#`` column, in the style of every table here.
    The title (a game id, from the run) is shown literally."""
    # No vertical rules and one space between columns: 12+ columns fit 80 characters.
    table = Table(title=None if title is None else literal(title), caption=caption,
                  box=box.SIMPLE_HEAD, padding=(0, 1),
                  pad_edge=False, collapse_padding=True, show_edge=False, header_style="bold",
                  title_style="bold")
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    return table


# What a narrow terminal gives up first (all of it stays in md, csv and json).
_DROPPED_FIRST = ("bt_low", "bt_high", "ci_low", "ci_high", "mu", "sigma", "draws", "off_mass")


def dropped_note(keys: Sequence[str], width: int) -> str:
    """The one line that says which columns a ``width``-column terminal does not show."""
    names = ", ".join(COLUMNS[k].short if k in COLUMNS else k for k in keys)
    return f"not shown at {width} columns: {names} (a wider terminal shows them)"


def _cell(key: str, value: Any) -> Text:
    text = _format(key, value)
    if key == "net_per_round" and isinstance(value, (int, float)) and value:
        return Text(text, style="green" if value > 0 else "red")
    return literal(text)  # names (and any text column) literally, never as markup


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
