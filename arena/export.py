"""``arena export``: one row per finished match, as JSON lines or CSV.

Each row is the stored match record (``arena.records``): ``key``, ``index``, ``game``,
``seed``, ``agents`` (seat order), ``roles``, ``rounds``, ``scores`` (name -> total
reward; solo tasks: mean reward per step), ``status`` and ``error``, ``forfeited_by``,
``forfeit_kind`` (``agent``, ``error``, ``timeout`` or ``died``: see
:data:`arena.records.FORFEIT_KINDS`), ``group``, ``episodes``, ``stats`` and times, then where it comes from: ``run`` (the
run's name), ``arena_version`` and ``config_sha256`` (the SHA-256 of the resolved config
as canonical JSON: sorted keys, no spaces). With ``rounds=True`` each row gains
``round_log``: per round ``{"actions": {name: action}, "probabilities": {name: [...]},
"rewards": {name: r}, "latency_ms": {name: ms}}`` (probabilities only for agents that
exposed them; ``latency_ms``, how long each decision call took, only in runs that kept
it), plus ``episode`` and ``step`` in solo tasks. In CSV, lists and mappings are JSON text.

``provenance`` (``arena export DIR --provenance``) is the whole record of what made the
run: the arena's version (and git commit), Python's and every package's version, the
resolved config and its hash, and ``models``: per language-model agent the identity of
its model (hub id or path, revision or file hash, dtype, engine, package versions), as
one JSON object.

Every line of a JSON export is valid JSON (a non-finite number, which only an old run
can hold, is written as ``null``); every text cell of a CSV goes through
:func:`leaderboards.csv_safe.safe_cell`, so no spreadsheet runs one as a formula. A
damaged run exports every match that can be read and then fails naming the others; a
file given with ``--out`` is replaced only once the export is whole (:func:`output_file`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from arena.errors import ArenaError
from arena.store import Store
from arena.store_files import damaged, output_file, refuse_run_file
from leaderboards.csv_safe import safe_cell

FORMATS = ("jsonl", "csv")
PROVENANCE = ["run", "arena_version", "config_sha256"]
COLUMNS = ["key", "index", "game", "seed", "agents", "roles", "rounds", "scores", "status",
           "error", "forfeited_by", "forfeit_kind", "group", "episodes", "stats", "started_at",
           "finished_at", *PROVENANCE]


def config_sha256(config: Any) -> str:
    """The SHA-256 of ``config`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def provenance(store: Store) -> dict[str, Any]:
    """What made the run: its name and time, the arena's and the packages' versions, the
    resolved config with its hash, and each language model's identity (``models``)."""
    info = store.run_info()
    versions = info.get("versions") or {}
    created = info.get("created")
    return {
        "run": info.get("name"),
        "created": created,
        "created_utc": (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
                        if isinstance(created, int | float) and math.isfinite(created)
                        else None),
        "directory": info.get("directory"),
        "arena_version": _arena_version(versions),
        "arena_commit": versions.get("arena_commit"),
        "versions": versions,
        "config_sha256": config_sha256(info.get("config")),
        "config": info.get("config"),
        "models": info.get("models") or {},
        "matches": store.count(),
    }


def _arena_version(versions: dict[str, Any]) -> Any:
    # runs from before the arena recorded itself hold only its package's version
    return versions.get("arena") or versions.get("unpredictability-arena")


def provenance_of(info: dict[str, Any]) -> dict[str, Any]:
    """The :data:`PROVENANCE` cells of every export row, from the run's info."""
    return {"run": info.get("name"), "arena_version": _arena_version(info.get("versions") or {}),
            "config_sha256": config_sha256(info.get("config"))}


def export_rows(store: Store, *, rounds: bool = False) -> Iterator[dict[str, Any]]:
    """Match rows in schedule order, with ``round_log`` only when ``rounds``."""
    origin = provenance_of(store.run_info())
    for record in store.iter_results(rounds=rounds):
        row = {column: record.get(column) for column in COLUMNS}
        row.update(origin)
        if rounds:
            row["round_log"] = record["round_log"]
        yield row


# Characters that JSON leaves raw but that end a line for str.splitlines() and many
# editors: escaped, so one JSON line stays one line for every reader
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def dumps(value: Any) -> str:
    """``value`` as valid JSON text on one line: non-finite numbers (only old runs hold
    any) as null, every character that could break the line escaped."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)
    if not text.isascii():  # outside strings JSON is ASCII: only texts can hold these
        for char, escaped in _LINE_BREAKS.items():
            text = text.replace(char, escaped)
    return text


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def csv_cell(value: Any) -> Any:
    """One CSV cell: lists and mappings as JSON, texts made safe, numbers as numbers."""
    if isinstance(value, list | dict):
        return dumps(value)  # begins with [ or {: never a formula
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return safe_cell(value)


class CsvWriter:
    """``csv.writer`` with ``\n`` line ends that keeps every row one row.

    Python's writer leaves a text holding a lone carriage return unquoted unless the line
    terminator has one, so a reader splits the row there; such a row is written with every
    text quoted instead (numbers stay bare), any other row exactly as ``csv.writer`` does.
    """

    def __init__(self, out: TextIO) -> None:
        self.plain = csv.writer(out, lineterminator="\n")
        self.quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, cells: Iterable[Any]) -> None:
        cells = list(cells)
        risky = any(isinstance(c, str) and "\r" in c for c in cells)
        (self.quoted if risky else self.plain).writerow(cells)


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(dumps(row) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, *, rounds: bool = False) -> int:
    columns = COLUMNS + (["round_log"] if rounds else [])
    writer = CsvWriter(out)
    writer.writerow([safe_cell(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        count += 1
    return count


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ArenaError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")


def export(store: Store, out: TextIO, *, fmt: str = "jsonl", rounds: bool = False,
           tidy: bool = False) -> int:
    """Write every finished match of ``store`` to ``out``; returns the number of rows.
    ``tidy``: one flat row per decision instead (:mod:`arena.export_tidy`). Matches that
    cannot be read are left out and listed in ``store.unreadable``."""
    check_format(fmt)
    if tidy:
        from arena.export_tidy import export_tidy

        return export_tidy(store, out, fmt=fmt)
    rows = export_rows(store, rounds=rounds)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    return write_csv(rows, out, rounds=rounds)


def export_command(directory: str | Path, *, out: str | None = None, fmt: str = "jsonl",
                   rounds: bool = False, tidy: bool = False,
                   with_provenance: bool = False) -> int:
    """``arena export``: write the run (or its provenance) to ``out`` or standard output;
    returns the number of rows. A damaged run raises after the readable rows are out."""
    check_format(fmt)  # before --out is touched: a typo must not leave an empty file
    if out is not None:
        refuse_run_file(out, directory)
    with Store.open(directory) as store:
        store.skip_unreadable = True  # export the rest, then name what was left out
        problem = store.check()  # damage that still reads: SQLite's quick_check finds it

        def write(handle: TextIO) -> int:
            if with_provenance:
                handle.write(json.dumps(_finite(provenance(store)), ensure_ascii=False,
                                        indent=2, allow_nan=False) + "\n")
                return 1
            return export(store, handle, fmt=fmt, rounds=rounds, tidy=tidy)

        try:
            if out is None:
                count = write(_utf8(sys.stdout))
            else:
                with output_file(out) as handle:
                    count = write(handle)
        except OSError as exc:
            if out is None:
                raise
            raise ArenaError(f"cannot write {out}: {exc.strerror or exc}") from None
        where = f" to {out}" if out is not None else ""
        if store.unreadable:
            raise ArenaError(str(damaged(store.path, f"{store.unreadable_summary()}; left out "
                                         f"of the export, the other {count} rows were written"
                                         f"{where}")))
        if problem is not None:
            raise ArenaError(str(damaged(store.path, f"{problem}; every match could be read and "
                                         f"{count} rows were written{where}, but some values "
                                         "may be wrong")))
    return count


def _utf8(stream: TextIO) -> TextIO:
    """Standard output as UTF-8, whatever the locale (an export is UTF-8 text)."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and (getattr(stream, "encoding", "") or "").lower() != "utf-8":
        try:
            reconfigure(encoding="utf-8")
        except (ValueError, OSError):
            pass
    return stream
