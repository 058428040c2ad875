"""The results database: ``DIR/arena.db``, SQLite in WAL mode, one transaction per match.

Tables (JSON in TEXT columns where a value is a list or mapping):

``runs``     one row: name, config snapshot (the validated config), package versions,
             creation time, and ``models``: per language-model agent its identity
             (``identity()``: hub id or path, revision or file hash, dtype, engine,
             package versions), recorded when the run is created (NULL in older runs)
``agents``   name, type, options, games
``matches``  idx (schedule position), key, game, seed, agents and roles (seat order),
             status, scores, rounds, error, forfeited_by, grp, episodes, stats, times
``rounds``   one row per agent per round: match idx, round (1-based), seat, agent,
             action (an integer, or the text for writing tasks), probabilities
             (JSON list or NULL), reward, forfeit (1 when the agent gave up that round),
             for solo tasks episode and step, and latency_ms (how long the agent's
             decision call took, in milliseconds; NULL in older runs)

A match is written only when it has finished, in one transaction, so a run killed at
any moment leaves only whole matches behind and ``--resume`` replays the rest.
WAL lets ``arena leaderboard DIR`` read while a run is still writing; a store that wrote
checkpoints the log into ``arena.db`` when it closes, so a finished run is one file.

Your files are safe (the README's "Safety"): the arena never deletes, truncates or writes
over a file it cannot prove it made. :meth:`Store.state` tells a run from a file that is
no run at all (refused, untouched), a damaged one (refused with the ``.recover`` command,
untouched) and an empty leftover of a run killed before its first commit (the only file
a new run is created in). Reading a damaged run gives every match that can still be read
and lists the others in :attr:`Store.unreadable`. A read-only run is read in place; one
whose write-ahead log still holds matches is refused rather than read without them.
:func:`refuse_run_file` keeps exports and drawings off a run's own files (:data:`RUN_FILES`).

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
import os
import shlex
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from arena.errors import StoreError
from arena.records import MatchResult

DB_NAME = "arena.db"
LOCK_NAME = "arena.lock"  # held by ``arena run`` (arena.launch._lock)
#: Every file the arena keeps in a run directory: no export, drawing or report may be
#: written over one of them (:func:`refuse_run_file`). Add any new one here.
RUN_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", LOCK_NAME)
#: ``PRAGMA application_id`` of every run made since it was introduced (b"aren")
APPLICATION_ID = 0x6172656E
ARENA_TABLES = frozenset({"runs", "agents", "matches", "rounds"})
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
"""
_MATCH_COLUMNS = ("idx, key, game, seed, agents, roles, status, scores, rounds, error, "
                  "forfeited_by, grp, episodes, stats, started, finished")
_ROUND_COLUMNS = ("match, round, seat, agent, action, probabilities, reward, episode, step, "
                  "forfeit, latency_ms")

# SQLite primary result codes (the extended ones share the low byte)
_FULL, _IOERR, _CORRUPT, _NOTADB, _CANTOPEN = 13, 10, 11, 26, 14
_BUSY, _LOCKED, _READONLY, _PERM = 5, 6, 8, 3
_SQLITE_READONLY = _READONLY
# what older Pythons (no ``sqlite_errorcode``) say for each
_MESSAGES = (("disk is full", _FULL), ("disk I/O", _IOERR), ("malformed", _CORRUPT),
             ("not a database", _NOTADB), ("unable to open", _CANTOPEN), ("locked", _BUSY),
             ("readonly", _READONLY))


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
    _add_column("rounds", "latency_ms", "REAL"),  # 2: each decision's latency
    _add_column("runs", "models", "TEXT"),  # 3: the identity of each language model
)
SCHEMA_VERSION = len(MIGRATIONS)
# the oldest version the read queries handle unmigrated (a read-only run is read as it is)
READABLE_FROM = 0


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL survives a killed process (only a power cut can lose the last match)
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{path.absolute().as_uri()}?{query}"


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write; ``immutable`` only when no write-ahead log can hold
    matches, since SQLite then ignores the log (and every match in it) without a word."""
    conn = None
    try:
        conn = sqlite3.connect(_uri(path, mode="ro"), uri=True, timeout=30.0,
                               isolation_level=None, check_same_thread=False)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        if conn is not None:
            conn.close()
        if _code(exc) not in (_CANTOPEN, _READONLY):
            raise
    # a read-only directory without the -shm file that WAL readers need
    wal = Path(f"{path}-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        raise StoreError(
            f"{path.parent} is read-only and {wal.name} still holds {wal.stat().st_size} bytes "
            f"of matches not yet written into {DB_NAME} (was the run killed?); reading it "
            f"without them would lose them: make {path.parent} writable, or copy the run "
            f"(cp -r {shlex.quote(str(path.parent))} NEW) and read the copy")
    conn = sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True,
                           isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _code(exc: BaseException) -> int | None:
    """The SQLite primary result code of ``exc``, if it has one."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF
    text = str(exc)
    return next((c for needle, c in _MESSAGES if needle in text), None)


def recover_command(path: Path) -> str:
    """The shell command that salvages what a damaged ``arena.db`` holds into a new run."""
    run = path.parent if path.parent.name else path.parent.resolve()
    new = run.with_name(f"{run.name}-recovered")
    return (f"mkdir {shlex.quote(str(new))} && sqlite3 {shlex.quote(str(path))} \".recover\" "
            f"| sqlite3 {shlex.quote(str(new / DB_NAME))}")


def damaged(path: Path, why: str) -> StoreError:
    return StoreError(f"{path} is damaged ({why}); it was kept as it is. Recover what it holds "
                      f"with: {recover_command(path)}")


def explain(exc: sqlite3.Error, path: Path) -> StoreError:
    """One line, saying what to do, for an SQLite failure on the run at ``path``."""
    why = " ".join(str(exc).split()) or type(exc).__name__
    code = _code(exc)
    if code in (_CORRUPT, _NOTADB) or "decode" in why:
        return damaged(path, why)
    if code == _FULL:
        return StoreError(f"{path}: the disk is full ({why})")
    if code == _IOERR:
        return StoreError(f"{path}: the disk failed ({why}); check it, nothing was deleted")
    if code == _READONLY:
        return StoreError(f"{path} is read-only ({why})")
    if code in (_BUSY, _LOCKED):
        return StoreError(f"{path} is locked by another process ({why}); try again later")
    if code in (_CANTOPEN, _PERM):
        reason = ("permission denied" if path.exists() and not os.access(path, os.R_OK)
                  else why)
        return StoreError(f"cannot open {path}: {reason}")
    return StoreError(f"{path}: {why}")


def refuse_run_file(out: str | Path, *runs: str | Path) -> None:
    """Refuse an output path that is, through links too, one of a run's own files.

    ``out`` is refused when it resolves to one of :data:`RUN_FILES` of ``runs``, when it is
    named like one of them beside an ``arena.db``, or when it already holds an SQLite
    database (a copy of a run, anyone's data): exports and drawings never go over those.
    """
    target = Path(os.path.realpath(out))
    refused = None
    if target.name in RUN_FILES and (target.parent / DB_NAME).exists():
        refused = f"{target.name} of the run in {target.parent}"
    for run in runs:
        for name in RUN_FILES:
            own = Path(run) / name
            same = Path(os.path.realpath(own)) == target
            if not same and own.exists() and target.exists():
                try:
                    same = os.path.samefile(own, target)  # hard links, bind mounts
                except OSError:
                    same = False
            if same:
                refused = f"{name} of the run in {run}"
    if refused is None and target.is_file() and _is_sqlite(target):
        refused = "an SQLite database"
    if refused is not None:
        link = "" if str(target) == os.path.abspath(out) else f" (through a link, {target})"
        raise StoreError(f"--out {out} is {refused}{link}; nothing was written: choose another "
                         "file")


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


class Store:
    """A run directory's database. Build with :meth:`create` or :meth:`open`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, *,
                 read_only: bool = False, writing: bool = False) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        self.conn = conn
        self.read_only = read_only
        # a store that writes checkpoints the log on close, so a finished run is one file
        self._writing = writing
        # a match that cannot be read stops a read (StoreError, naming it) unless this is
        # set: then it is left out and listed in ``unreadable`` (key -> why), as the views
        # and exports do, to show everything else and then fail naming what they left out
        self.skip_unreadable = False
        self.unreadable: dict[str, str] = {}
        try:
            # below SCHEMA_VERSION only when a read-only run could not be migrated
            self.schema_version: int = _version(conn)
            # a read-only run from before a column was added has no such column: NULL
            rounds, runs = _columns(conn, "rounds"), _columns(conn, "runs")
            self._forfeit = "forfeit" if "forfeit" in rounds else "NULL"
            self._latency = "latency_ms" if "latency_ms" in rounds else "NULL"
            self._models = "models" if "models" in runs else "NULL"
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise explain(exc, self.path) from None

    # -- what a directory holds ------------------------------------------------
    @classmethod
    def state(cls, directory: str | Path) -> str:
        """``"none"`` (no ``arena.db``), ``"empty"`` (an ``arena.db`` that holds nothing: a
        run killed before its first commit) or ``"run"``.

        Anything else raises :class:`StoreError` and is left untouched: a damaged database
        (with the command that recovers it), a file that is not an arena run, one that
        cannot be read. Only reads, never creates or changes a file.
        """
        path = Path(directory) / DB_NAME
        if not os.path.lexists(path):
            return "none"
        if not path.is_file():
            raise StoreError(f"{path} is not a file (a directory, or a link to nothing); "
                             "not a run")
        try:
            conn = _read_only(path)
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        try:
            return _kind(conn, path)
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        finally:
            conn.close()

    @classmethod
    def holds_run(cls, directory: str | Path) -> bool:
        """Whether ``directory`` holds a run that got past its first commit (no errors: a
        damaged or foreign file counts as no run here; :meth:`state` says which)."""
        try:
            return cls.state(directory) == "run"
        except StoreError:
            return False

    # -- making and opening ----------------------------------------------------
    @classmethod
    def create(cls, directory: str | Path, *, config: dict[str, Any],
               versions: dict[str, str] | None = None,
               models: dict[str, Any] | None = None) -> Store:
        """A new run in ``directory``, which holds no ``arena.db`` or only an empty one
        (a run killed before its first commit): the only file written into in place.
        ``models``: agent name -> the identity of its language model (see :meth:`run_info`)."""
        directory = Path(directory)
        path = directory / DB_NAME
        if cls.state(directory) == "run":
            raise StoreError(f"{directory} already holds a run; use --resume to continue it, "
                             "or choose another --out")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {directory}: {exc.strerror or exc}") from None
        try:
            conn = _connect(path)
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        try:
            # schema and run row in one transaction: a kill here leaves no half-made run
            conn.execute("BEGIN IMMEDIATE")
            if _kind(conn, path) != "empty":  # again, under the write lock
                raise StoreError(f"{directory} already holds a run; use --resume to continue "
                                 "it, or choose another --out")
            for statement in filter(str.strip, SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("INSERT INTO runs (id, name, config, versions, created, models) "
                         "VALUES (1, ?, ?, ?, ?, ?)",
                         (config.get("name"), json.dumps(config), json.dumps(versions or {}),
                          time.time(), json.dumps(models or {})))
            conn.executemany("INSERT INTO agents VALUES (?, ?, ?, ?)", [
                (a["name"], a["type"], json.dumps(a.get("options", {})),
                 json.dumps(a.get("games"))) for a in config.get("agents", [])])
            conn.execute("COMMIT")
        except BaseException as exc:
            _rollback(conn)
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise explain(exc, path) from None
            raise
        return cls(directory, conn, writing=True)

    @classmethod
    def open(cls, directory: str | Path, *, write: bool = False) -> Store:
        """An existing run; a clear error when ``directory`` holds none.

        For reading (the default) a run that cannot be written is read in place, as it is.
        ``write`` (``--resume``) needs a writable, sound run and says so otherwise.
        """
        directory = Path(directory)
        path = directory / DB_NAME
        state = cls.state(directory)
        if state == "none":
            what = "does not exist" if not directory.exists() else f"has no {DB_NAME}"
            raise StoreError(f"{directory} {what}: not a run directory")
        if state == "empty":
            raise StoreError(f"{path}: not a run yet, one stopped before it started; start it "
                             "again")
        read_only = False
        try:
            conn = _connect(path)
        except sqlite3.OperationalError as exc:
            if write or _code(exc) not in (_CANTOPEN, _READONLY):
                raise (_refuse_write(path, exc) if write else explain(exc, path)) from None
            try:
                conn = _read_only(path)
            except sqlite3.Error as again:
                raise explain(again, path) from None
            read_only = True
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        try:
            if write:
                _check_writable(conn, path)
                problem = _quick_check(conn)
                if problem is not None:
                    raise damaged(path, problem)
            if not read_only:
                _migrate(conn, path)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise explain(exc, path) from None
            raise
        return cls(directory, conn, read_only=read_only, writing=write)

    def close(self) -> None:
        if self._writing:
            self._writing = False
            try:
                # nothing left in the log: a finished run is the one file arena.db (a reader
                # still looking at it may hold part of the log back: wait for it briefly)
                self.conn.execute("PRAGMA busy_timeout = 2000")
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # the log keeps every match; the next open checkpoints it
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------
    def save(self, result: MatchResult) -> None:
        """Write one finished (or forfeited) match and its rounds in one transaction."""
        if self.read_only:
            raise StoreError(f"{self.path} is opened read-only: it cannot take new matches")
        if self.schema_version < SCHEMA_VERSION:
            raise StoreError(f"{self.path} is read-only and from an older arena "
                             f"(schema {self.schema_version}): it cannot take new matches")
        r = result
        row = (r.index, r.key, r.game, r.seed, json.dumps(r.agents), json.dumps(r.roles),
               r.status, json.dumps(r.scores), r.rounds, r.error, r.forfeited_by, r.group,
               r.episodes, json.dumps(r.stats), r.started_at, r.finished_at)
        conn = self.conn
        self._writing = True
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"INSERT INTO matches ({_MATCH_COLUMNS}) VALUES "
                         f"({', '.join('?' * 16)})", row)
            # named columns: the insert must not depend on where ALTER TABLE put one
            conn.executemany(f"INSERT INTO rounds ({_ROUND_COLUMNS}) VALUES "
                             f"({', '.join('?' * 11)})", _round_rows(r))
            conn.execute("COMMIT")
        except BaseException as exc:
            _rollback(conn)  # SQLite may have rolled back already (a full disk does)
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise self._save_failed(exc, r.key) from None
            raise

    def _save_failed(self, exc: sqlite3.Error, key: str) -> StoreError:
        try:
            saved = f"the {self.count()} matches saved before it are intact"
        except StoreError:
            saved = "the matches saved before it are as they were"
        return StoreError(f"{explain(exc, self.path)}: match {key} was not saved; {saved}. "
                          "Fix that, then resume the run")

    def forget_retryable(self, prefixes: tuple[str, ...]) -> list[str]:
        """Delete the forfeits whose error starts with one of ``prefixes`` (a match
        stopped from outside, see ``arena.records.RETRYABLE``), rounds and all, in one
        transaction, so a resume plays them again; their keys."""
        if self.read_only:
            raise StoreError(f"{self.path} is opened read-only: no forfeit can be replayed")
        conn = self.conn
        try:
            rows = conn.execute("SELECT idx, key, error FROM matches WHERE status = 'forfeit'")
            doomed = [(idx, key) for idx, key, error in rows
                      if error and error.startswith(prefixes)]
            if doomed:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("DELETE FROM rounds WHERE match = ?", [(i,) for i, _ in doomed])
                conn.executemany("DELETE FROM matches WHERE idx = ?", [(i,) for i, _ in doomed])
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise explain(exc, self.path) from None
        return [key for _, key in doomed]

    # -- reading ---------------------------------------------------------------
    def finished_keys(self) -> set[str]:
        try:
            return {k for (k,) in self.conn.execute("SELECT key FROM matches")}
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None

    def run_info(self) -> dict[str, Any]:
        """The run record: ``name``, ``config`` (the snapshot), ``versions``, ``created``,
        ``directory`` and ``models`` (agent name -> its model's identity; ``{}`` for a run
        made before identities were recorded, or without a language model)."""
        try:
            name, config, versions, created, models = self.conn.execute(
                f"SELECT name, config, versions, created, {self._models} FROM runs").fetchone()
            return {"name": name, "config": json.loads(config),
                    "versions": json.loads(versions or "{}"), "created": created,
                    "directory": str(self.directory), "models": json.loads(models or "{}")}
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None
        except (TypeError, ValueError) as exc:
            raise damaged(self.path, f"its run record is unreadable: {exc}") from None

    def games(self) -> list[str]:
        """Game ids in config order, then any others found among the matches."""
        ids = [g["id"] for g in self.run_info()["config"].get("games", [])]
        try:
            found = [g for (g,) in self.conn.execute(
                "SELECT game FROM matches GROUP BY game ORDER BY MIN(idx)")]
        except sqlite3.Error:  # damaged: the games of the matches that can be read
            found = [r["game"] for r in self.iter_results()]
        for game in found:
            if game not in ids and isinstance(game, str):
                ids.append(game)
        return ids

    def count(self) -> int:
        try:
            return self.conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None

    def check(self) -> str | None:
        """None when SQLite's ``quick_check`` finds the file sound, else what it found."""
        return _quick_check(self.conn)

    def unreadable_summary(self) -> str | None:
        """The matches reads could not decode, in a few words (None if there are none)."""
        if not self.unreadable:
            return None
        keys = list(self.unreadable)
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        plural = "es" if len(keys) != 1 else ""
        return f"{len(keys)} unreadable match{plural}: {shown} ({self.unreadable[keys[0]]})"

    def result(self, key: str, *, rounds: bool = False) -> dict[str, Any] | None:
        """One match by its key (``round_log`` with ``rounds``), or ``None`` if there is none;
        :class:`StoreError` if it cannot be read."""
        try:
            row = self.conn.execute(f"SELECT {_MATCH_COLUMNS} FROM matches WHERE key = ?",
                                    (key,)).fetchone()
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None
        if row is None:
            return None
        try:
            record = _record(row)
            if rounds:
                record["round_log"] = self._round_log(row[0], record["agents"])
        except (sqlite3.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
            if isinstance(exc, sqlite3.Error) and _code(exc) in (_BUSY, _LOCKED, _IOERR, _FULL,
                                                                 _CANTOPEN):
                raise explain(exc, self.path) from None
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise damaged(self.path, f"{key} is unreadable: {why}") from None
        return record

    def results(self, *, game: str | None = None, rounds: bool = False) -> list[dict[str, Any]]:
        """``MatchResult.to_dict()`` mappings in schedule order (``round_log`` with rounds)."""
        return list(self.iter_results(game=game, rounds=rounds))

    def iter_results(self, *, game: str | None = None,
                     rounds: bool = False) -> Iterator[dict[str, Any]]:
        """Every match in schedule order. One that cannot be read raises
        :class:`StoreError` naming it, or with :attr:`skip_unreadable` is left out and
        listed in :attr:`unreadable` (key -> why)."""
        for row in self._match_rows(game):
            try:
                record = _record(row)
                if rounds:
                    record["round_log"] = self._round_log(row[0], record["agents"])
            except (sqlite3.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
                self._lost(row[1], row[0], exc)
                continue
            yield record

    def _lost(self, key: Any, idx: Any, exc: BaseException) -> None:
        if isinstance(exc, sqlite3.Error) and _code(exc) in (_BUSY, _LOCKED, _IOERR, _FULL,
                                                             _CANTOPEN):
            raise explain(exc, self.path) from None  # the disk or a lock, not this match
        name = key if isinstance(key, str) else f"match #{idx}" if isinstance(idx, int) else idx
        why = " ".join(f"{type(exc).__name__}: {exc}".split())
        if not self.skip_unreadable:
            raise damaged(self.path, f"{name} is unreadable: {why}")
        self.unreadable.setdefault(name, why)

    def _match_rows(self, game: str | None) -> Iterator[tuple[Any, ...]]:
        where, args = ("WHERE game = ?", (game,)) if game is not None else ("", ())
        try:
            rows = self.conn.execute(
                f"SELECT {_MATCH_COLUMNS} FROM matches {where} ORDER BY idx", args).fetchall()
        except sqlite3.Error as exc:
            if _code(exc) in (_BUSY, _LOCKED, _IOERR, _CANTOPEN):
                raise explain(exc, self.path) from None
        else:
            yield from rows
            return
        # damaged: list the matches from the key index, then read them one by one
        for idx, key in self._listing():
            try:
                row = self.conn.execute(
                    f"SELECT {_MATCH_COLUMNS} FROM matches WHERE idx = ?", (idx,)).fetchone()
                if row is None:
                    raise LookupError("listed in the key index, missing from the table")
            except (sqlite3.Error, LookupError) as exc:
                self._lost(key, idx, exc)
                continue
            if game is None or row[2] == game:
                yield row

    def _listing(self) -> list[tuple[int, str | None]]:
        """(idx, key) of every match that can still be found, in schedule order."""
        try:
            found = self.conn.execute("SELECT idx, key FROM matches INDEXED BY "
                                      "sqlite_autoindex_matches_1").fetchall()
            return sorted(found, key=lambda row: row[0])
        except sqlite3.Error:
            pass
        found, last = [], -(2 ** 63)
        while True:  # the table itself, match after match, as far as it can be walked
            try:
                row = self.conn.execute("SELECT idx FROM matches WHERE idx > ? ORDER BY idx "
                                        "LIMIT 1", (last,)).fetchone()
            except sqlite3.Error as exc:
                self._lost(None, f"matches after #{last}" if found else "every match", exc)
                return found
            if row is None:
                return found
            last = row[0]
            found.append((last, None))

    def _round_log(self, idx: int, agents: list[str]) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = []
        last = None
        entry: dict[str, Any] = {}
        for rnd, agent, action, probs, reward, episode, step, forfeit, latency in \
                self.conn.execute(
                    "SELECT round, agent, action, probabilities, reward, episode, step, "
                    f"{self._forfeit}, {self._latency} FROM rounds "
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
            if latency is not None:  # NULL in runs from before latencies were kept
                entry.setdefault("latency_ms", {})[agent] = latency
            if forfeit:
                entry.setdefault("forfeited", []).append(agent)
        return log


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite ended it itself; nothing of it was committed


def _kind(conn: sqlite3.Connection, path: Path) -> str:
    """``"empty"`` or ``"run"`` for an open database; raises for anything else."""
    objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = _version(conn)
    tables = {name for kind, name in objects if kind == "table"}
    ours = app_id in (0, APPLICATION_ID)
    if not objects and version == 0 and ours:
        return "empty"  # holds nothing at all: a run killed before its first commit
    if not ours or not ARENA_TABLES <= tables:
        shown = ", ".join(sorted(tables)[:5]) or "no tables"
        raise StoreError(f"{path} is not an arena run (it holds {shown}); it was left as it "
                         "is: choose another --out")
    if conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1:
        return "run"
    if not any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
               for t in ("runs", "agents", "matches", "rounds")):
        return "empty"  # the arena's tables and nothing in them
    raise damaged(path, "it holds matches but no run record")


def _check_writable(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise _refuse_write(path, exc) from None
    conn.execute("ROLLBACK")


def _refuse_write(path: Path, exc: sqlite3.Error) -> StoreError:
    if _code(exc) in (_READONLY, _CANTOPEN, _PERM):
        return StoreError(f"{path} is read-only ({' '.join(str(exc).split())}): --resume needs "
                          f"to write there; copy the run (cp -r {shlex.quote(str(path.parent))} "
                          "NEW) and resume the copy with --out NEW --resume")
    return explain(exc, path)


def _quick_check(conn: sqlite3.Connection) -> str | None:
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.Error as exc:
        return " ".join(str(exc).split())
    found = [str(r[0]) for r in rows]
    return None if found == ["ok"] else "quick_check: " + "; ".join(" ".join(f.split())
                                                                    for f in found)


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
        latency = entry.get("latency_ms") or {}
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
                   episode, step, 1 if name in forfeited else None, latency.get(name))


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    (idx, key, game, seed, agents, roles, status, scores, rounds, error, forfeited_by, grp,
     episodes, stats, started, finished) = row
    names, seats, totals, extra = (json.loads(agents), json.loads(roles), json.loads(scores),
                                   json.loads(stats))
    # what a damaged row can hold instead, which would break every reader downstream
    if not (isinstance(key, str) and isinstance(game, str) and isinstance(names, list)
            and all(isinstance(n, str) for n in names) and isinstance(seats, list)
            and isinstance(totals, dict) and isinstance(extra, dict)):
        raise ValueError("a field does not hold what a match record holds")
    return MatchResult(
        key=key, game=game, index=idx, seed=seed, agents=names, roles=seats, status=status,
        scores=totals, rounds=rounds, error=error, forfeited_by=forfeited_by, group=grp,
        episodes=episodes, stats=extra, started_at=started, finished_at=finished).to_dict()
