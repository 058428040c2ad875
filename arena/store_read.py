"""Reading a run back: its matches as plain records, even from a damaged file.

:class:`StoreReading` is the half of :class:`arena.store.Store` that reads: which matches
are done, the run's record, and every match with its rounds. A row that cannot be read
(bad JSON, a garbled page) is skipped and named in :attr:`unreadable`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arena.records import MatchResult
from arena.store_files import (
    DB_NAME,
    NOT_THE_ROW,
    damaged,
    explain,
    quick_check,
    schema_version,
    sqlite_code,
)
from arena.store_schema import MATCH_COLUMNS, select_list

# what a round's read takes, in this order (the first three identify the row)
_ROUND_READ = ("round", "agent", "action", "probabilities", "reward", "episode", "step",
               "forfeit", "latency_ms")


class StoreReading:
    """Reads a run's database (``arena.db`` in ``directory``) over ``conn``.

    ``schema_version`` is below :data:`arena.store_schema.SCHEMA_VERSION` only for a
    read-only run that could not be migrated: a column it lacks reads as NULL.
    """

    directory: Path
    path: Path
    conn: sqlite3.Connection
    schema_version: int
    #: a match that cannot be read stops a read (StoreError, naming it) unless this is
    #: set: then it is left out and listed in ``unreadable`` (key -> why), as the views
    #: and exports do, to show everything else and then fail naming what they left out
    skip_unreadable: bool
    unreadable: dict[str, str]

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        self.conn = conn
        self.skip_unreadable = False
        self.unreadable = {}
        try:
            self.schema_version = schema_version(conn)
            self._matches = select_list(conn, "matches", MATCH_COLUMNS)
            self._rounds = select_list(conn, "rounds", _ROUND_READ)
            self._run = select_list(conn, "runs", ("name", "config", "versions", "created",
                                                   "models"))
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise explain(exc, self.path) from None

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
                f"SELECT {self._run} FROM runs").fetchone()
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
        return quick_check(self.conn)

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
            row = self.conn.execute(f"SELECT {self._matches} FROM matches WHERE key = ?",
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
            if isinstance(exc, sqlite3.Error) and sqlite_code(exc) in NOT_THE_ROW:
                raise explain(exc, self.path) from None
            raise damaged(self.path, f"{key} is unreadable: {_why(exc)}") from None
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
        if isinstance(exc, sqlite3.Error) and sqlite_code(exc) in NOT_THE_ROW:
            raise explain(exc, self.path) from None
        name = key if isinstance(key, str) else f"match #{idx}" if isinstance(idx, int) else idx
        why = _why(exc)
        if not self.skip_unreadable:
            raise damaged(self.path, f"{name} is unreadable: {why}")
        self.unreadable.setdefault(name, why)

    def _match_rows(self, game: str | None) -> Iterator[tuple[Any, ...]]:
        where, args = ("WHERE game = ?", (game,)) if game is not None else ("", ())
        try:
            rows = self.conn.execute(
                f"SELECT {self._matches} FROM matches {where} ORDER BY idx", args).fetchall()
        except sqlite3.Error as exc:
            if sqlite_code(exc) in NOT_THE_ROW:
                raise explain(exc, self.path) from None
        else:
            yield from rows
            return
        # damaged: list the matches from the key index, then read them one by one
        for idx, key in self._listing():
            try:
                row = self.conn.execute(
                    f"SELECT {self._matches} FROM matches WHERE idx = ?", (idx,)).fetchone()
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
                self.conn.execute(f"SELECT {self._rounds} FROM rounds WHERE match = ? "
                                  "ORDER BY round, seat", (idx,)):
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


def _why(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    (idx, key, game, seed, agents, roles, status, scores, rounds, error, forfeited_by, grp,
     episodes, stats, started, finished, forfeit_kind) = row
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
        episodes=episodes, stats=extra, started_at=started, finished_at=finished,
        forfeit_kind=forfeit_kind).to_dict()
