"""Worker processes: a match that hangs, crashes or exits costs only itself.

:func:`play_fixture` builds one scheduled match's env and fresh agents and plays it
through :func:`arena.match.play_match`; the runner calls it in a worker process, or in
a thread for agents that must share the run's memory (a loaded language model).

A :class:`Worker` is a process started from a forkserver (so it shares no threads or
locks with the run) that plays one fixture at a time, saves its record in the run's
database (one transaction, as the runner would) and sends back a summary without the
round log. Its
progress lives in a few shared numbers, written without any message per round: which
seat is being called (so a timeout blames the right agent even when the agent holds
the GIL in C code), the rounds played, and the last rounds' moves and scores, which the
runner reads for the live view. The runner kills a worker whose match overruns its
time limit, or whose agent ended the process, records the forfeit, and starts a fresh
one; the killed agent stops using the CPU at once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Any

from arena.agent import ServiceUnavailable
from arena.config import Config
from arena.fixture import play_fixture
from arena.seats import MatchState
from arena.store import Store

#: an agent's log records shown per match, and the bytes of its printed output kept
LOG_RECORDS = 20
OUTPUT_TAIL_BYTES = 2000
#: shared numbers per worker: the seat being called (-1: none), rounds played, the ring
#: position, then RING entries of (round, action 0, action 1, score 0, score 1)
CURRENT, ROUNDS, HEAD, RING = 0, 1, 2, 3
ENTRY = 5
SLOTS = 3 + RING * ENTRY


class SharedState(MatchState):
    """A worker's match state: who is being called and how far it got, in shared memory."""

    def __init__(self, names: tuple[str, ...], shared: Any) -> None:
        self._seat = {name: i for i, name in enumerate(names)}
        self._shared = shared
        shared[CURRENT], shared[ROUNDS], shared[HEAD] = -1, 0, 0
        super().__init__()

    @property
    def current(self) -> str | None:  # type: ignore[override]
        seat = int(self._shared[CURRENT])
        return None if seat < 0 else list(self._seat)[seat]

    @current.setter
    def current(self, name: str | None) -> None:
        self._shared[CURRENT] = -1 if name is None else self._seat.get(name, -1)

    @property
    def rounds(self) -> int:  # type: ignore[override]
        return int(self._shared[ROUNDS])

    @rounds.setter
    def rounds(self, value: int) -> None:
        self._shared[ROUNDS] = value


class WorkerObserver:
    """What a match reports, from a worker: rounds into shared memory, the rest by pipe."""

    def __init__(self, conn: Connection, shared: Any, action_index: dict[str, int], *,
                 rounds: bool = True) -> None:
        self.conn, self.shared, self.index = conn, shared, action_index
        self.rounds = rounds  # whether the run shows rounds as they are played

    def match_started(self, **kwargs: Any) -> None:
        self.conn.send(("started", kwargs))

    def round_played(self, *, key: str, round: int, moves: dict[str, str],
                     scores: dict[str, float]) -> None:
        if not self.rounds:
            return
        if len(moves) != 2:  # a solo episode: a text or a number, one message per episode
            self.conn.send(("round", {"key": key, "round": round, "moves": moves,
                                      "scores": scores}))
            return
        shared = self.shared
        head = int(shared[HEAD])
        at = RING + (head % 3) * ENTRY
        (m0, m1), (s0, s1) = moves.values(), scores.values()
        shared[at:at + ENTRY] = (round, self.index[m0], self.index[m1], s0, s1)
        shared[HEAD] = head + 1


def _action_names(config: Config, game_id: str) -> list[str]:
    from envs import get_game

    game = next(g for g in config.games if g.id == game_id)
    raw = get_game(game_id).make(**game.args).unwrapped
    return [str(n) for n in getattr(raw, "action_names", ())]


class _ForwardLogs(logging.Handler):
    """An agent's log records go to the run, which shows them (above the live view):
    the first :data:`LOG_RECORDS` of a match, then only a count."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn, self.sent, self.dropped = conn, 0, 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.sent >= LOG_RECORDS:
            self.dropped += 1
            return
        self.sent += 1
        self.conn.send(("log", {"name": record.name, "levelno": record.levelno,
                                "levelname": record.levelname, "msg": record.getMessage(),
                                "args": None, "created": record.created}))


class _CapturedOutput:
    """The worker's stdout and stderr (the file descriptors, so C code and child
    processes are caught too) go to a file; after each match, a bounded tail of it."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            stream.flush()
            os.dup2(self.file.fileno(), fd)

    def take(self) -> tuple[int, str]:
        """Lines written since the last call and their tail; the file starts afresh."""
        sys.stdout.flush()
        sys.stderr.flush()
        size = self.file.seek(0, os.SEEK_END)
        self.file.seek(max(0, size - OUTPUT_TAIL_BYTES))
        tail = self.file.read().decode("utf-8", "replace")
        self.file.seek(0)
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: self.file.read(1 << 16), b""))
        self.file.seek(0)
        self.file.truncate()
        return lines + (size > 0 and not tail.endswith("\n")), tail


def _die_with_run(lifeline: Connection) -> None:
    """End this worker as soon as the run's process is gone, even mid-match: only the
    run holds the other end of ``lifeline``, so it reads EOF the moment the run dies
    (SIGKILL included), and no orphan can commit a match afterwards."""

    def watch() -> None:
        try:
            lifeline.recv()
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="arena-lifeline").start()


def serve(config: Config, conn: Connection, shared: Any, setup: dict[str, Any],
          lifeline: Connection) -> None:
    """A worker's life: play each fixture it is sent, send back its record."""
    _die_with_run(lifeline)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run decides what Ctrl-C stops
    logs = _ForwardLogs(conn)
    logging.root.handlers = [logs]
    output = _CapturedOutput()
    adopt(setup)
    from arena.registry import registered

    registered()  # import every agent module now: a match's clock starts at its job
    conn.send(("ready", None))
    indexes: dict[str, dict[str, int]] = {}
    store: Store | None = None
    while True:
        try:
            fixture = conn.recv()
        except EOFError:
            return
        if fixture is None:
            return
        if fixture.game not in indexes:
            names = _action_names(config, fixture.game)
            indexes[fixture.game] = {n: i for i, n in enumerate(names)}
        state = SharedState(fixture.agents, shared)
        observer = WorkerObserver(conn, shared, indexes[fixture.game],
                                  rounds=setup.get("rounds", True))
        logs.sent = logs.dropped = 0
        try:
            result = play_fixture(config, fixture, state=state, observer=observer)
        except ServiceUnavailable as exc:  # the run stops; this match stays unplayed
            conn.send(("down", " ".join(str(exc).split())))
            continue
        lines, tail = output.take()
        if lines or logs.dropped:
            conn.send(("output", {"lines": lines, "tail": tail, "logs_dropped": logs.dropped}))
        try:
            # saved here, in one transaction: the round log never crosses the pipe
            store = store or Store.open(setup["store"], write=True)
            store.save(result)
        except Exception as exc:  # noqa: BLE001 -- the run stops on it, with this reason
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
            continue
        # a match's rounds stay here; a solo series keeps them: its live table ranks
        # every episode
        conn.send(("done", result if fixture.episodes else
                   dataclasses.replace(result, round_log=[])))


def adopt(setup: dict[str, Any]) -> None:
    """In a worker: the run's import path, games and agent types."""
    import sys

    import envs
    from arena.registry import adopt_class, load_file

    sys.path[:] = setup["path"]
    for plugin in setup["plugins"]:  # first: a plugin may define the run's games
        load_file(plugin)
    for spec in setup["games"]:
        if spec.id not in envs.GAMES:
            envs.register_game(spec)
    for type_name, path in setup["classes"].items():
        adopt_class(type_name, path)


