"""The run database's schema and its versions (``PRAGMA user_version``), with the
migrations that bring an older run up to date (see :mod:`arena.store` for how to add a
column)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from arena.errors import StoreError
from arena.ratings_schema import RATINGS_SCHEMA
from arena.store_files import _READONLY, _code, _rollback, _version

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, config TEXT, versions TEXT, created REAL,
    models TEXT);
CREATE TABLE IF NOT EXISTS agents (
    name TEXT PRIMARY KEY, type TEXT, options TEXT, games TEXT);
CREATE TABLE IF NOT EXISTS matches (
    idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, game TEXT, seed INTEGER,
    agents TEXT, roles TEXT, status TEXT, scores TEXT, rounds INTEGER, error TEXT,
    forfeited_by TEXT, grp TEXT, episodes INTEGER, stats TEXT, started REAL, finished REAL);
CREATE TABLE IF NOT EXISTS rounds (
    match INTEGER NOT NULL, round INTEGER NOT NULL, seat INTEGER NOT NULL, agent TEXT,
    action, probabilities TEXT, reward REAL, episode INTEGER, step INTEGER, forfeit INTEGER,
    latency_ms REAL, PRIMARY KEY (match, round, seat)) WITHOUT ROWID;
""" + RATINGS_SCHEMA
_MATCH_COLUMNS = ("idx, key, game, seed, agents, roles, status, scores, rounds, error, "
                  "forfeited_by, grp, episodes, stats, started, finished")
_ROUND_COLUMNS = ("match, round, seat, agent, action, probabilities, reward, episode, step, "
                  "forfeit, latency_ms")



def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _add_column(table: str, column: str, kind: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        # runs made between the column's arrival and versioning already have it at version 0
        if column not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return migrate


def _create(schema: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        for statement in filter(str.strip, schema.split(";")):
            conn.execute(statement)  # CREATE ... IF NOT EXISTS: safe to run again
    return migrate


# MIGRATIONS[n] brings a run from version n to n + 1; append only, never reorder or edit
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _add_column("rounds", "forfeit", "INTEGER"),  # 1: round forfeit marks
    _add_column("rounds", "latency_ms", "REAL"),  # 2: each decision's latency
    _add_column("runs", "models", "TEXT"),  # 3: the identity of each language model
    _add_column("matches", "forfeit_kind", "TEXT"),  # 4: the kind of a forfeit
    _create(RATINGS_SCHEMA),  # 5: human judgements of texts (arena.ratings_store)
)
SCHEMA_VERSION = len(MIGRATIONS)
# the oldest version the read queries handle unmigrated (a read-only run is read as it is)
READABLE_FROM = 0


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the run up to ``SCHEMA_VERSION`` in one transaction, or leave a read-only one."""
    version = _version(conn)
    _refuse_newer(version, path)
    if version == SCHEMA_VERSION:
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
        # again under the write lock: another process may have migrated it meanwhile
        version = _version(conn)
        _refuse_newer(version, path)
        for migration in MIGRATIONS[version:]:
            migration(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException as exc:
        _rollback(conn)  # some errors end the transaction themselves
        if not (isinstance(exc, sqlite3.OperationalError) and _code(exc) == _READONLY):
            raise
        if version < READABLE_FROM:
            raise StoreError(f"{path} is from an older arena (schema {version}) and read-only, "
                             "so it cannot be upgraded; copy the run somewhere writable") from None


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was made by a newer arena (schema {version}, this one reads "
                         f"up to {SCHEMA_VERSION}); upgrade arena to use it")
