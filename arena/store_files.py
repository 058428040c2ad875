"""The run database as files: connections, what SQLite's errors mean, what a directory
holds (a run, an empty leftover, or someone else's file), and the run's own files that
nothing may be written over (see :mod:`arena.store`)."""

from __future__ import annotations

import os
import shlex
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from arena.errors import StoreError

DB_NAME = "arena.db"
LOCK_NAME = "arena.lock"  # held by ``arena run`` (arena.launch._lock)
#: Every file the arena keeps in a run directory: no export, drawing or report may be
#: written over one of them (:func:`refuse_run_file`). Add any new one here.
RUN_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", LOCK_NAME)
#: ``PRAGMA application_id`` of every run made since it was introduced (b"aren")
APPLICATION_ID = 0x6172656E
ARENA_TABLES = frozenset({"runs", "agents", "matches", "rounds"})
# SQLite primary result codes (the extended ones share the low byte)
FULL, IOERR, CORRUPT, NOTADB, CANTOPEN = 13, 10, 11, 26, 14
BUSY, LOCKED, READONLY, PERM = 5, 6, 8, 3
#: failures of the disk or a lock, not of the row being read: a read that meets one stops
#: (rather than skipping the match as unreadable) and says what to fix
NOT_THE_ROW = (BUSY, LOCKED, IOERR, FULL, CANTOPEN)
# what older Pythons (no ``sqlite_errorcode``) say for each
_MESSAGES = (("disk is full", FULL), ("disk I/O", IOERR), ("malformed", CORRUPT),
             ("not a database", NOTADB), ("unable to open", CANTOPEN), ("locked", BUSY),
             ("readonly", READONLY))


def connect(path: Path) -> sqlite3.Connection:
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


def connect_read_only(path: Path) -> sqlite3.Connection:
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
        if sqlite_code(exc) not in (CANTOPEN, READONLY):
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


def sqlite_code(exc: BaseException) -> int | None:
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
    code = sqlite_code(exc)
    if code in (CORRUPT, NOTADB) or "decode" in why:
        return damaged(path, why)
    if code == FULL:
        return StoreError(f"{path}: the disk is full ({why})")
    if code == IOERR:
        return StoreError(f"{path}: the disk failed ({why}); check it, nothing was deleted")
    if code == READONLY:
        return StoreError(f"{path} is read-only ({why})")
    if code in (BUSY, LOCKED):
        return StoreError(f"{path} is locked by another process ({why}); try again later")
    if code in (CANTOPEN, PERM):
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


@contextmanager
def output_file(out: str | Path) -> Iterator[TextIO]:
    """``out`` opened for writing UTF-8 text. A regular file (or a new one) is written
    beside it and put in its place only when the writing is done: a failed export (a full
    disk, an error) leaves what was there before. Devices and pipes are written directly."""
    target = Path(os.path.realpath(out))  # through links: the file they point to is replaced
    if target.exists() and not target.is_file():
        with open(out, "w", encoding="utf-8", newline="") as handle:
            yield handle
        return
    fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        if target.exists():
            mode = target.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(part, mode)
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def rollback(conn: sqlite3.Connection) -> None:
    """End the open transaction, if SQLite has not ended it already (a full disk does)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite ended it itself; nothing of it was committed


def run_state(directory: str | Path) -> str:
    """``"none"`` (no ``arena.db``), ``"empty"`` (an ``arena.db`` that holds nothing: a run
    killed before its first commit) or ``"run"``.

    Anything else raises :class:`StoreError` and is left untouched: a damaged database
    (with the command that recovers it), a file that is not an arena run, one that cannot
    be read. Only reads, never creates or changes a file.
    """
    path = Path(directory) / DB_NAME
    if not os.path.lexists(path):
        return "none"
    if not path.is_file():
        raise StoreError(f"{path} is not a file (a directory, or a link to nothing); "
                         "not a run")
    try:
        conn = connect_read_only(path)
    except sqlite3.Error as exc:
        raise explain(exc, path) from None
    try:
        return what_it_holds(conn, path)
    except sqlite3.Error as exc:
        raise explain(exc, path) from None
    finally:
        conn.close()


def what_it_holds(conn: sqlite3.Connection, path: Path) -> str:
    """``"empty"`` or ``"run"`` for an open database; raises for anything else."""
    objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = schema_version(conn)
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


def check_writable(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise refuse_write(path, exc) from None
    conn.execute("ROLLBACK")


def refuse_write(path: Path, exc: sqlite3.Error) -> StoreError:
    if sqlite_code(exc) in (READONLY, CANTOPEN, PERM):
        return StoreError(f"{path} is read-only ({' '.join(str(exc).split())}): --resume needs "
                          f"to write there; copy the run (cp -r {shlex.quote(str(path.parent))} "
                          "NEW) and resume the copy with --out NEW --resume")
    return explain(exc, path)


def quick_check(conn: sqlite3.Connection) -> str | None:
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.Error as exc:
        return " ".join(str(exc).split())
    found = [str(r[0]) for r in rows]
    return None if found == ["ok"] else "quick_check: " + "; ".join(" ".join(f.split())
                                                                    for f in found)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]
