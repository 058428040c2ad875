"""CSV cells that a spreadsheet cannot run: the one rule every CSV the arena writes follows.

Agent names, errors and texts come from configs and agents. A text cell that begins
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
spreadsheets, so (following OWASP's CSV-injection advice) such a cell is prefixed with a
single quote. Numbers stay numbers: only ``str`` values are ever changed.
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: texts that would start a formula are quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    """Every cell of a row through :func:`safe_cell`."""
    return [safe_cell(v) for v in values]
