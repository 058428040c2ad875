"""The results database: ``DIR/arena.db``, SQLite in WAL mode, one transaction per match.

Tables (JSON in TEXT columns where a value is a list or mapping):

``runs``     one row: name, config snapshot (the validated config), package versions,
             creation time
``agents``   name, type, options, games
``matches``  idx (schedule position), key, game, seed, agents and roles (seat order),
             status, scores, rounds, error, forfeited_by, grp, episodes, stats, times
``rounds``   one row per agent per round: match idx, round (1-based), seat, agent,
             action (an integer, or the text for writing tasks), probabilities
             (JSON list or NULL), reward, forfeit (1 when the agent gave up that round),
             and for solo tasks episode and step

A match is written only when it has finished, in one transaction, so a run killed at
any moment leaves only whole matches behind and ``--resume`` replays the rest.
WAL lets ``arena leaderboard DIR`` read while a run is still writing.

Schema versions: ``PRAGMA user_version`` holds the schema version of a run, and
``SCHEMA_VERSION`` is the one this code writes. Runs made before versioning hold 0.
:meth:`Store.open` brings an older run up to date by applying ``MIGRATIONS[version:]`` and
the new version in one transaction, so resuming (and reading) old runs just works; a run
from a newer arena is refused rather than misread. How to add a column:

1. add it at the end of its table in ``SCHEMA`` (new runs get it there);
2. append a migration that adds it to older runs (``_add_column`` checks first, so it is
   safe on a run that already has it); ``SCHEMA_VERSION`` follows from ``MIGRATIONS``;
3. let the read queries cope with the column missing (as ``forfeit`` does), or raise
   ``READABLE_FROM``: a run that cannot be migrated because its file is read-only is read
   as it is when its version is at least ``READABLE_FROM``, else refused.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from arena.errors import StoreError
from arena.records import MatchResult

DB_NAME = "arena.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, config TEXT, versions TEXT, created REAL);
CREATE TABLE IF NOT EXISTS agents (
    name TEXT PRIMARY KEY, type TEXT, options TEXT, games TEXT);
CREATE TABLE IF NOT EXISTS matches (
    idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, game TEXT, seed INTEGER,
    agents TEXT, roles TEXT, status TEXT, scores TEXT, rounds INTEGER, error TEXT,
    forfeited_by TEXT, grp TEXT, episodes INTEGER, stats TEXT, started REAL, finished REAL);
CREATE TABLE IF NOT EXISTS rounds (
    match INTEGER NOT NULL, round INTEGER NOT NULL, seat INTEGER NOT NULL, agent TEXT,
    action, probabilities TEXT, reward REAL, episode INTEGER, step INTEGER, forfeit INTEGER,
    PRIMARY KEY (match, round, seat)) WITHOUT ROWID;
"""
_MATCH_COLUMNS = ("idx, key, game, seed, agents, roles, status, scores, rounds, error, "
                  "forfeited_by, grp, episodes, stats, started, finished")
_ROUND_COLUMNS = "match, round, seat, agent, action, probabilities, reward, episode, step, forfeit"


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _add_column(table: str, column: str, kind: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        # runs made between the column's arrival and versioning already have it at version 0
        if column not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return migrate


# MIGRATIONS[n] brings a run from version n to n + 1; append only, never reorder or edit
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _add_column("rounds", "forfeit", "INTEGER"),  # 1: round forfeit marks
)
SCHEMA_VERSION = len(MIGRATIONS)
# the oldest version the read queries handle unmigrated (a read-only run is read as it is)
READABLE_FROM = 0
_SQLITE_READONLY = 8  # primary result code; the extended ones share its low byte


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL under WAL survives a killed process (only a power cut can lose the last match)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class Store:
    """A run directory's database. Build with :meth:`create` or :meth:`open`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self.conn = conn
        # below SCHEMA_VERSION only when a read-only run could not be migrated
        self.schema_version: int = _version(conn)
        # a read-only run from before round forfeit marks has no column for them
        self._forfeit = "forfeit" if "forfeit" in _columns(conn, "rounds") else "NULL"

    @classmethod
    def create(cls, directory: str | Path, *, config: dict[str, Any],
               versions: dict[str, str] | None = None) -> Store:
        """A new run in ``directory`` (which must not hold a run already)."""
        directory = Path(directory)
        path = directory / DB_NAME
        if cls.holds_run(directory):
            raise StoreError(f"{directory} already holds a run; use --resume to continue it, "
                             "or choose another --out")
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)  # a run killed before its first commit
        conn = _connect(path)
        # schema and run row in one transaction: a kill here leaves no half-made run
        conn.execute("BEGIN IMMEDIATE")
        for statement in filter(str.strip, SCHEMA.split(";")):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("INSERT INTO runs VALUES (1, ?, ?, ?, ?)",
                     (config.get("name"), json.dumps(config), json.dumps(versions or {}),
                      time.time()))
        conn.executemany("INSERT INTO agents VALUES (?, ?, ?, ?)", [
            (a["name"], a["type"], json.dumps(a.get("options", {})),
             json.dumps(a.get("games"))) for a in config.get("agents", [])])
        conn.execute("COMMIT")
        return cls(directory, conn)

    @staticmethod
    def holds_run(directory: str | Path) -> bool:
        """Whether ``directory`` holds a run that got past its first commit."""
        path = Path(directory) / DB_NAME
        if not path.is_file():
            return False
        try:
            conn = sqlite3.connect(path, timeout=30.0)
            try:
                return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            return False

    @classmethod
    def open(cls, directory: str | Path) -> Store:
        """An existing run; a clear error when ``directory`` holds none."""
        directory = Path(directory)
        path = directory / DB_NAME
        if not path.is_file():
            what = "does not exist" if not directory.exists() else f"has no {DB_NAME}"
            raise StoreError(f"{directory} {what}: not a run directory")
        if not cls.holds_run(directory):
            raise StoreError(f"{path}: not a run, or one stopped before it started; start it "
                             "again")
        conn = _connect(path)
        try:
            _migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(directory, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------
    def save(self, result: MatchResult) -> None:
        """Write one finished (or forfeited) match and its rounds in one transaction."""
        if self.schema_version < SCHEMA_VERSION:
            raise StoreError(f"{self.directory / DB_NAME} is read-only and from an older arena "
                             f"(schema {self.schema_version}): it cannot take new matches")
        r = result
        row = (r.index, r.key, r.game, r.seed, json.dumps(r.agents), json.dumps(r.roles),
               r.status, json.dumps(r.scores), r.rounds, r.error, r.forfeited_by, r.group,
               r.episodes, json.dumps(r.stats), r.started_at, r.finished_at)
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"INSERT INTO matches ({_MATCH_COLUMNS}) VALUES "
                         f"({', '.join('?' * 16)})", row)
            # named columns: the insert must not depend on where ALTER TABLE put one
            conn.executemany(f"INSERT INTO rounds ({_ROUND_COLUMNS}) VALUES "
                             f"({', '.join('?' * 10)})", _round_rows(r))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- reading ---------------------------------------------------------------
    def finished_keys(self) -> set[str]:
        return {k for (k,) in self.conn.execute("SELECT key FROM matches")}

    def run_info(self) -> dict[str, Any]:
        name, config, versions, created = self.conn.execute(
            "SELECT name, config, versions, created FROM runs").fetchone()
        return {"name": name, "config": json.loads(config), "versions": json.loads(versions),
                "created": created, "directory": str(self.directory)}

    def games(self) -> list[str]:
        """Game ids in config order, then any others found among the matches."""
        ids = [g["id"] for g in self.run_info()["config"].get("games", [])]
        for (game,) in self.conn.execute("SELECT DISTINCT game FROM matches ORDER BY idx"):
            if game not in ids:
                ids.append(game)
        return ids

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]

    def results(self, *, game: str | None = None, rounds: bool = False) -> list[dict[str, Any]]:
        """``MatchResult.to_dict()`` mappings in schedule order (``round_log`` with rounds)."""
        return list(self.iter_results(game=game, rounds=rounds))

    def iter_results(self, *, game: str | None = None,
                     rounds: bool = False) -> Iterator[dict[str, Any]]:
        where, args = ("WHERE game = ?", (game,)) if game is not None else ("", ())
        rows = self.conn.execute(
            f"SELECT {_MATCH_COLUMNS} FROM matches {where} ORDER BY idx", args).fetchall()
        for row in rows:
            record = _record(row)
            if rounds:
                record["round_log"] = self._round_log(row[0], record["agents"])
            yield record

    def _round_log(self, idx: int, agents: list[str]) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = []
        last = None
        entry: dict[str, Any] = {}
        for rnd, agent, action, probs, reward, episode, step, forfeit in self.conn.execute(
                "SELECT round, agent, action, probabilities, reward, episode, step, "
                f"{self._forfeit} FROM rounds "
                "WHERE match = ? ORDER BY round, seat", (idx,)):
            if rnd != last:
                entry = {"actions": {}, "probabilities": {}, "rewards": {}}
                if episode is not None:
                    entry["episode"], entry["step"] = episode, step
                log.append(entry)
                last = rnd
            entry["actions"][agent] = action
            if probs is not None:
                entry["probabilities"][agent] = json.loads(probs)
            entry["rewards"][agent] = reward
            if forfeit:
                entry.setdefault("forfeited", []).append(agent)
        return log


def _version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


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
        if conn.in_transaction:  # some errors end the transaction themselves
            conn.execute("ROLLBACK")
        if not (isinstance(exc, sqlite3.OperationalError) and _read_only(exc)):
            raise
        if version < READABLE_FROM:
            raise StoreError(f"{path} is from an older arena (schema {version}) and read-only, "
                             "so it cannot be upgraded; copy the run somewhere writable") from None


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was made by a newer arena (schema {version}, this one reads "
                         f"up to {SCHEMA_VERSION}); upgrade arena to use it")


def _read_only(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is None:
        return "readonly" in str(exc)
    return code & 0xFF == _SQLITE_READONLY


def _round_rows(r: MatchResult) -> Iterator[tuple[Any, ...]]:
    seats = list(enumerate(r.agents))
    dumps = json.dumps
    # bots repeat a few policies over and over: encode each once
    encoded: dict[tuple[float, ...], str] = {}
    for number, entry in enumerate(r.round_log, 1):
        actions, rewards = entry["actions"], entry["rewards"]
        probs = entry.get("probabilities") or {}
        episode, step = entry.get("episode"), entry.get("step")
        forfeited = entry.get("forfeited") or ()
        for seat, name in seats:
            p = probs.get(name)
            if p is None:
                text = None
            else:
                key = tuple(p)
                text = encoded.get(key)
                if text is None:
                    text = encoded[key] = dumps(p)
                    if len(encoded) > 4096:  # a language model's policies rarely repeat
                        encoded.clear()
            yield (r.index, number, seat, name, actions.get(name), text, rewards.get(name),
                   episode, step, 1 if name in forfeited else None)


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    (idx, key, game, seed, agents, roles, status, scores, rounds, error, forfeited_by, grp,
     episodes, stats, started, finished) = row
    return MatchResult(
        key=key, game=game, index=idx, seed=seed, agents=json.loads(agents),
        roles=json.loads(roles), status=status, scores=json.loads(scores), rounds=rounds,
        error=error, forfeited_by=forfeited_by, group=grp, episodes=episodes,
        stats=json.loads(stats), started_at=started, finished_at=finished).to_dict()
