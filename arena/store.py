"""The results database: ``DIR/arena.db``, SQLite in WAL mode, one transaction per match.

Tables (JSON in TEXT columns where a value is a list or mapping):

``runs``     one row: name, config snapshot (the validated config), package versions,
             creation time, and ``models``: per language-model agent its identity
             (``identity()``: hub id or path, revision or file hash, dtype, engine,
             package versions), recorded when the run is created (NULL in older runs)
``agents``   name, type, options, games
``matches``  idx (schedule position), key, game, seed, agents and roles (seat order),
             status, scores, rounds, error, forfeited_by, grp, episodes, stats, times,
             forfeit_kind (why a forfeit happened, :data:`arena.records.FORFEIT_KINDS`)
``rounds``   one row per agent per round: match idx, round (1-based), seat, agent,
             action (an integer, or the text for writing tasks), probabilities
             (JSON list or NULL), reward, forfeit (1 when the agent gave up that round),
             for solo tasks episode and step, and latency_ms (how long the agent's
             decision call took, in milliseconds; NULL in older runs)

A match is written only when it has finished, in one transaction, so a run killed at
any moment leaves only whole matches behind and ``--resume`` replays the rest.
WAL lets ``arena leaderboard DIR`` read while a run is still writing; a store that wrote
checkpoints the log into ``arena.db`` when it closes, so a finished run is one file.

The store is four modules, one job each: this one writes (:class:`Store`: create, open,
save, replay forfeits), :mod:`arena.store_read` reads (:class:`StoreReading`),
:mod:`arena.store_schema` holds the schema and its migrations, and
:mod:`arena.store_files` keeps files safe (connections, what SQLite's errors mean, what a
directory holds, which files nothing may overwrite).

Your files are safe (the README's "Safety"): the arena never deletes, truncates or writes
over a file it cannot prove it made. :meth:`Store.state` tells a run from a file that is
no run at all (refused, untouched), a damaged one (refused with the ``.recover`` command,
untouched) and an empty leftover of a run killed before its first commit (the only file
a new run is created in). Reading a damaged run gives every match that can still be read
and lists the others in :attr:`Store.unreadable`. A read-only run is read in place; one
whose write-ahead log still holds matches is refused rather than read without them.
:func:`arena.store_files.refuse_run_file` keeps exports and drawings off a run's own files
(:data:`arena.store_files.RUN_FILES`).

Schema versions: ``PRAGMA user_version`` holds the schema version of a run, and
``SCHEMA_VERSION`` is the one this code writes. Runs made before versioning hold 0.
:meth:`Store.open` brings an older run up to date by applying ``MIGRATIONS[version:]`` and
the new version in one transaction, so resuming (and reading) old runs just works; a run
from a newer arena is refused rather than misread. How to add a column:

1. add it at the end of its table in ``SCHEMA`` (new runs get it there) and to that
   table's column tuple (``MATCH_COLUMNS``...), which the inserts and reads are built from;
2. append a migration that adds it to older runs (``_add_column`` checks first, so it is
   safe on a run that already has it); ``SCHEMA_VERSION`` follows from ``MIGRATIONS``;
3. the reads take NULL for a column an unmigrated read-only run lacks (``select_list``):
   make sure NULL reads sensibly, or raise ``READABLE_FROM``: a run that cannot be migrated because its file is read-only is read
   as it is when its version is at least ``READABLE_FROM``, else refused.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arena.errors import StoreError
from arena.records import FORFEIT, RETRYABLE_KINDS, MatchResult
from arena.store_files import (
    APPLICATION_ID,
    CANTOPEN,
    DB_NAME,
    READONLY,
    check_writable,
    connect,
    connect_read_only,
    damaged,
    explain,
    quick_check,
    refuse_write,
    rollback,
    run_state,
    sqlite_code,
    what_it_holds,
)
from arena.store_read import StoreReading
from arena.store_schema import (
    AGENT_COLUMNS,
    MATCH_COLUMNS,
    ROUND_COLUMNS,
    RUN_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    insert_sql,
    migrate,
)

_INSERT_RUN = insert_sql("runs", RUN_COLUMNS)
_INSERT_AGENT = insert_sql("agents", AGENT_COLUMNS)
_INSERT_MATCH = insert_sql("matches", MATCH_COLUMNS)
_INSERT_ROUND = insert_sql("rounds", ROUND_COLUMNS)


class Store(StoreReading):
    """A run directory's database. Build with :meth:`create` or :meth:`open`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, *,
                 read_only: bool = False, writing: bool = False) -> None:
        super().__init__(directory, conn)
        self.read_only = read_only
        # a store that writes checkpoints the log on close, so a finished run is one file
        self._writing = writing

    # -- what a directory holds ------------------------------------------------
    @classmethod
    def state(cls, directory: str | Path) -> str:
        """``"none"``, ``"empty"`` or ``"run"``: see :func:`arena.store_files.run_state`."""
        return run_state(directory)

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
            conn = connect(path)
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        try:
            # schema and run row in one transaction: a kill here leaves no half-made run
            conn.execute("BEGIN IMMEDIATE")
            if what_it_holds(conn, path) != "empty":  # again, under the write lock
                raise StoreError(f"{directory} already holds a run; use --resume to continue "
                                 "it, or choose another --out")
            for statement in filter(str.strip, SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(_INSERT_RUN, _ordered(RUN_COLUMNS, {
                "id": 1, "name": config.get("name"), "config": json.dumps(config),
                "versions": json.dumps(versions or {}), "created": time.time(),
                "models": json.dumps(models or {})}))
            conn.executemany(_INSERT_AGENT, [_ordered(AGENT_COLUMNS, {
                "name": a["name"], "type": a["type"],
                "options": json.dumps(a.get("options", {})), "games": json.dumps(a.get("games"))})
                for a in config.get("agents", [])])
            conn.execute("COMMIT")
        except BaseException as exc:
            rollback(conn)
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
            conn = connect(path)
        except sqlite3.OperationalError as exc:
            if write or sqlite_code(exc) not in (CANTOPEN, READONLY):
                raise (refuse_write(path, exc) if write else explain(exc, path)) from None
            try:
                conn = connect_read_only(path)
            except sqlite3.Error as again:
                raise explain(again, path) from None
            read_only = True
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        try:
            if write:
                check_writable(conn, path)
                problem = quick_check(conn)
                if problem is not None:
                    raise damaged(path, problem)
            if not read_only:
                migrate(conn, path)
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
        row = _ordered(MATCH_COLUMNS, {
            "idx": r.index, "key": r.key, "game": r.game, "seed": r.seed,
            "agents": json.dumps(r.agents), "roles": json.dumps(r.roles), "status": r.status,
            "scores": json.dumps(r.scores), "rounds": r.rounds, "error": r.error,
            "forfeited_by": r.forfeited_by, "grp": r.group, "episodes": r.episodes,
            "stats": json.dumps(r.stats), "started": r.started_at, "finished": r.finished_at,
            "forfeit_kind": r.forfeit_kind})
        conn = self.conn
        self._writing = True
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_INSERT_MATCH, row)
            conn.executemany(_INSERT_ROUND, _round_rows(r))
            conn.execute("COMMIT")
        except BaseException as exc:
            rollback(conn)
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

    def forget_retryable(self, kinds: tuple[str, ...] = RETRYABLE_KINDS) -> list[str]:
        """Delete the forfeits of ``kinds`` (by default the matches stopped from outside:
        timed out, or their process died), rounds and all, in one transaction, so a resume
        plays them again; their keys. Only the stored kind counts, never the error text,
        which may quote an agent."""
        if self.read_only:
            raise StoreError(f"{self.path} is opened read-only: no forfeit can be replayed")
        conn = self.conn
        marks = ", ".join("?" for _ in kinds)
        try:
            doomed = conn.execute(
                f"SELECT idx, key FROM matches WHERE status = ? AND forfeit_kind IN ({marks}) "
                "ORDER BY idx", (FORFEIT, *kinds)).fetchall()
            if doomed:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("DELETE FROM rounds WHERE match = ?", [(i,) for i, _ in doomed])
                conn.executemany("DELETE FROM matches WHERE idx = ?", [(i,) for i, _ in doomed])
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            rollback(conn)
            raise explain(exc, self.path) from None
        return [key for _, key in doomed]


def _ordered(columns: tuple[str, ...], values: dict[str, Any]) -> tuple[Any, ...]:
    """``values`` in the order of ``columns``; a column without a value is a KeyError."""
    return tuple(values[column] for column in columns)


def _round_rows(r: MatchResult) -> Iterator[tuple[Any, ...]]:
    """The rows of ``r``'s rounds, in :data:`ROUND_COLUMNS` order."""
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
