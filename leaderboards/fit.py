"""Tables that never show a wrong number: :class:`FitTable`.

A Rich table squeezed into a narrow terminal shrinks every column at last resort, so a
number can lose digits without a sign (``50`` shown as ``5``, ``2e-03`` as ``2e-0``).
A :class:`FitTable` gives every number column its full width, always: text columns
(names, states) are shortened or wrapped first, and when even that is not enough, whole
number columns are left out, least needed first, and one line under the table names
them. What a table leaves out is always in ``--format json``.

>>> t = FitTable([Col("agent", number=False), Col("N"), Col("p", drop=1)], title="t")
>>> t.add_row("a-long-agent-name", "50", "2e-03")
>>> from rich.console import Console
>>> console = Console(width=12, color_system=None)
>>> with console.capture() as cap:
...     console.print(t)
>>> "50" in cap.get() and "not shown" in cap.get()
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from leaderboards.table import literal


@dataclass(frozen=True)
class Col:
    """One column: a ``number`` column is right-aligned and never wrapped or cut; a text
    column may be shortened down to ``min_width`` (``wrap``: wrapped instead of ending in
    an ellipsis). ``drop`` orders which columns a narrow terminal leaves out (lowest
    first); ``None`` is never left out."""

    header: str
    number: bool = True
    drop: int | None = None
    min_width: int = 8
    wrap: bool = False
    style: str = ""


class FitTable:
    """Rows of cells (strings or Rich Text) under :class:`Col` columns; renders as wide
    as the terminal allows without cutting a number (see the module docstring)."""

    def __init__(self, columns: Sequence[Col], *, title: str | None = None,
                 caption: str | None = None, notes: Sequence[str] = (), gap: int = 2) -> None:
        self.columns = list(columns)
        self.gap = gap  # spaces between columns
        self.title = title
        self.caption = caption
        self.notes = list(notes)  # lines under the table (a legend, say), always shown
        self.rows: list[list[Any]] = []

    def add_row(self, *cells: Any) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))

    def shown(self, width: int, console: Console | None = None) -> list[int]:
        """Indices of the columns shown at ``width`` terminal columns."""
        console = console or Console(width=width, color_system=None)
        keep = list(range(len(self.columns)))
        order = sorted((c.drop, i) for i, c in enumerate(self.columns) if c.drop is not None)
        wide = console.options.update_width(10_000)
        for step in [None, *order]:
            if step is not None:
                keep.remove(step[1])
            narrowest = Measurement.get(console, wide, self.table(keep, squeezed=True))
            if narrowest.maximum <= width:
                break
        return keep

    def fits(self, width: int, console: Console | None = None) -> bool:
        """Whether every column fits ``width`` terminal columns (text at its narrowest)."""
        console = console or Console(width=width, color_system=None)
        wide = console.options.update_width(10_000)
        return Measurement.get(console, wide, self.table(squeezed=True)).maximum <= width

    def table(self, keep: Sequence[int] | None = None, *, squeezed: bool = False) -> Table:
        """The Rich table of the columns ``keep`` (default all); ``squeezed``: text
        columns at their narrowest (to measure what the numbers need)."""
        keep = range(len(self.columns)) if keep is None else keep
        table = Table(title=None if self.title is None else literal(self.title),
                      caption=self.caption, title_justify="left", caption_justify="left",
                      header_style="bold", title_style="bold", box=box.SIMPLE_HEAD,
                      pad_edge=False, padding=(0, max(self.gap - 1, 0), 0, 0),
                      show_edge=False)  # the box draws one space between columns
        for i in keep:
            col = self.columns[i]
            if col.number:
                table.add_column(col.header, justify="right", no_wrap=True, style=col.style)
            else:
                table.add_column(col.header, justify="left", style=col.style,
                                 overflow="fold" if col.wrap else "ellipsis",
                                 min_width=min(col.min_width, 4),
                                 max_width=col.min_width if squeezed else None)
        for row in self.rows:
            table.add_row(*(_cell(row[i]) for i in keep))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        keep = self.shown(options.max_width, console)
        yield self.table(keep)
        dropped = [self.columns[i].header for i in range(len(self.columns)) if i not in keep]
        if dropped:  # never silently: one line names what is not shown
            yield Text(f"not shown at {options.max_width} columns: {', '.join(dropped)} "
                       "(a wider terminal or --format json shows them)", style="dim")
        for note in self.notes:
            yield Text(note, style="dim")


def split(make: Any, n: int, width: int, console: Console | None = None) -> list[FitTable]:
    """Tables of ``n`` columns in blocks (``make(range)`` builds the one of those columns),
    as few as fit ``width``: for many columns of equal standing, none of which to leave out."""
    per = max(n, 1)
    while per > 1 and not make(range(0, min(per, n))).fits(width, console):
        per -= 1
    return [make(range(first, min(n, first + per))) for first in range(0, max(n, 1), per)]


def _cell(value: Any) -> Any:
    if isinstance(value, Text):
        return value
    return literal("–" if value is None else value)
