"""The run database's schema and its versions (``PRAGMA user_version``), with the
migrations that bring an older run up to date (see :mod:`arena.store` for how to add a
column)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from arena.errors import StoreError
from arena.ratings_schema import RATINGS_SCHEMA
from arena.records import FORFEIT_AGENT, FORFEIT_DIED, FORFEIT_ERROR, FORFEIT_TIMEOUT
from arena.store_files import READONLY, rollback, schema_version, sqlite_code

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, config TEXT, versions TEXT, created REAL,
    models TEXT);
CREATE TABLE IF NOT EXISTS agents (
    name TEXT PRIMARY KEY, type TEXT, options TEXT, games TEXT);
CREATE TABLE IF NOT EXISTS matches (
    idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, game TEXT, seed INTEGER,
    agents TEXT, roles TEXT, status TEXT, scores TEXT, rounds INTEGER, error TEXT,
    forfeited_by TEXT, grp TEXT, episodes INTEGER, stats TEXT, started REAL, finished REAL,
    forfeit_kind TEXT);
CREATE TABLE IF NOT EXISTS rounds (
    match INTEGER NOT NULL, round INTEGER NOT NULL, seat INTEGER NOT NULL, agent TEXT,
    action, probabilities TEXT, reward REAL, episode INTEGER, step INTEGER, forfeit INTEGER,
    latency_ms REAL, PRIMARY KEY (match, round, seat)) WITHOUT ROWID;
""" + RATINGS_SCHEMA
# the columns the store writes and reads, by name: an insert must not depend on where
# ALTER TABLE put a column, and a read of an older run finds some missing (see select_list)
RUN_COLUMNS = ("id", "name", "config", "versions", "created", "models")
AGENT_COLUMNS = ("name", "type", "options", "games")
MATCH_COLUMNS = ("idx", "key", "game", "seed", "agents", "roles", "status", "scores", "rounds",
                 "error", "forfeited_by", "grp", "episodes", "stats", "started", "finished",
                 "forfeit_kind")
ROUND_COLUMNS = ("match", "round", "seat", "agent", "action", "probabilities", "reward",
                 "episode", "step", "forfeit", "latency_ms")


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)``, one placeholder per column."""
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})")


def select_list(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> str:
    """``columns`` for a SELECT, with ``NULL`` for each that ``table`` lacks: a read-only
    run that could not be migrated is read as it is."""
    present = table_columns(conn, table)
    return ", ".join(c if c in present else "NULL" for c in columns)


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _add_column(table: str, column: str, kind: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        # runs made between the column's arrival and versioning already have it at version 0
        if column not in table_columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return migrate


def _create(schema: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        for statement in filter(str.strip, schema.split(";")):
            conn.execute(statement)  # CREATE ... IF NOT EXISTS: safe to run again
    return migrate


# The error texts that runs of schema 3 and before wrote for each kind of forfeit. Written
# out here, not taken from arena.records: a migration reads the texts of its time.
_TIMED_OUT = re.compile(r"timed out after \S+ s: (?:(?P<by>.+) did not answer"
                        r"|the match did not finish)", re.DOTALL)
_DIED = re.compile(r"the match's process ended \(exit code [^)]*\) "
                   r"(?:while (?P<by>.+) was deciding|between decisions)", re.DOTALL)
_FAILED = ("match failed: ", "env error: ")


def old_forfeit_kind(error: str | None, by: str | None) -> str | None:
    """The kind of a forfeit recorded before kinds were stored, read from its error text
    and who forfeited; ``None`` where the text cannot tell (such a forfeit is never
    replayed by ``--retry-forfeits``).

    An agent's own forfeit begins with its name, so an agent named like the runner's
    messages (``timed out after 3 s``) could write what looks like one: a text that fits
    both an agent's forfeit and a stopped match is left unknown rather than guessed.
    """
    if not isinstance(error, str):
        return None
    found = []
    for pattern, kind in ((_TIMED_OUT, FORFEIT_TIMEOUT), (_DIED, FORFEIT_DIED)):
        match = pattern.fullmatch(error)
        if match is not None and match.group("by") == by:
            found.append(kind)
    if by is not None and error.startswith(f"{by}: "):
        found.append(FORFEIT_AGENT)
    if by is None and error.startswith(_FAILED):
        found.append(FORFEIT_ERROR)
    return found[0] if len(found) == 1 else None


def _forfeit_kinds(conn: sqlite3.Connection) -> None:
    _add_column("matches", "forfeit_kind", "TEXT")(conn)
    rows = conn.execute("SELECT idx, error, forfeited_by FROM matches "
                        "WHERE status = 'forfeit' AND forfeit_kind IS NULL").fetchall()
    conn.executemany("UPDATE matches SET forfeit_kind = ? WHERE idx = ?",
                     [(kind, idx) for idx, error, by in rows
                      if (kind := old_forfeit_kind(error, by)) is not None])


# MIGRATIONS[n] brings a run from version n to n + 1; append only, never reorder or edit
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _add_column("rounds", "forfeit", "INTEGER"),  # 1: round forfeit marks
    _add_column("rounds", "latency_ms", "REAL"),  # 2: each decision's latency
    _add_column("runs", "models", "TEXT"),  # 3: the identity of each language model
    _forfeit_kinds,  # 4: why each forfeit happened, read from the old error texts
    _create(RATINGS_SCHEMA),  # 5: human judgements of texts (arena.ratings_store)
)
SCHEMA_VERSION = len(MIGRATIONS)
# the oldest version the read queries handle unmigrated (a read-only run is read as it is)
READABLE_FROM = 0


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the run up to ``SCHEMA_VERSION`` in one transaction, or leave a read-only one."""
    version = schema_version(conn)
    _refuse_newer(version, path)
    if version == SCHEMA_VERSION:
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
        # again under the write lock: another process may have migrated it meanwhile
        version = schema_version(conn)
        _refuse_newer(version, path)
        for migration in MIGRATIONS[version:]:
            migration(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException as exc:
        rollback(conn)  # some errors end the transaction themselves
        if not (isinstance(exc, sqlite3.OperationalError) and sqlite_code(exc) == READONLY):
            raise
        if version < READABLE_FROM:
            raise StoreError(f"{path} is from an older arena (schema {version}) and read-only, "
                             "so it cannot be upgraded; copy the run somewhere writable") from None


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was made by a newer arena (schema {version}, this one reads "
                         f"up to {SCHEMA_VERSION}); upgrade arena to use it")
