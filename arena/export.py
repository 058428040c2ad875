"""``arena export``: one row per finished match, as JSON lines or CSV.

Each row is the stored match record (``arena.records``): ``key``, ``index``, ``game``,
``seed``, ``agents`` (seat order), ``roles``, ``rounds``, ``scores`` (name -> total
reward; solo tasks: mean reward per step), ``status`` and ``error``, ``forfeited_by``,
``group``, ``episodes``, ``stats`` and times. With ``rounds=True`` each row gains
``round_log``: per round ``{"actions": {name: action}, "probabilities": {name: [...]},
"rewards": {name: r}}`` (probabilities only for agents that exposed them), plus
``episode`` and ``step`` in solo tasks. In CSV, lists and mappings are JSON text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from arena.errors import ArenaError
from arena.store import Store

FORMATS = ("jsonl", "csv")
COLUMNS = ["key", "index", "game", "seed", "agents", "roles", "rounds", "scores", "status",
           "error", "forfeited_by", "group", "episodes", "stats", "started_at", "finished_at"]


def export_rows(store: Store, *, rounds: bool = False) -> Iterator[dict[str, Any]]:
    """Match rows in schedule order, with ``round_log`` only when ``rounds``."""
    for record in store.iter_results(rounds=rounds):
        row = {column: record[column] for column in COLUMNS}
        if rounds:
            row["round_log"] = record["round_log"]
        yield row


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, *, rounds: bool = False) -> int:
    columns = COLUMNS + (["round_log"] if rounds else [])
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict)
                         else ("" if v is None else v) for k, v in row.items()})
        count += 1
    return count


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ArenaError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")


def export(store: Store, out: TextIO, *, fmt: str = "jsonl", rounds: bool = False,
           tidy: bool = False) -> int:
    """Write every finished match of ``store`` to ``out``; returns the number of rows.
    ``tidy``: one flat row per decision instead (:mod:`arena.export_tidy`)."""
    check_format(fmt)
    if tidy:
        from arena.export_tidy import export_tidy

        return export_tidy(store, out, fmt=fmt)
    rows = export_rows(store, rounds=rounds)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    return write_csv(rows, out, rounds=rounds)
