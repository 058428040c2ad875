"""Worker processes: a match that hangs, crashes or exits costs only itself.

A worker is a process started from a forkserver (so it shares no threads or locks with
the run) that plays one fixture at a time with :func:`arena.fixture.play_fixture` and
sends back its whole record, which the run saves. What the run sees of it is
:class:`arena.slot_process.ProcessSlot`.

Its progress lives in a few shared numbers, written without any message per round: which
seat is being called (so a timeout blames the right agent even when the agent holds the
GIL in C code), the rounds played, and the last rounds' moves, scores and decision
times, which the run reads for the live view and its estimate of the time left. The run
kills a worker whose match overruns its time limit, or whose agent ended the process,
records the forfeit, and starts a fresh one; the killed agent stops using the CPU at once.
"""

from __future__ import annotations

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
from arena.game_facts import game_facts
from arena.seats import MatchState

#: an agent's log records shown per match, and the bytes of its printed output kept
LOG_RECORDS = 20
OUTPUT_TAIL_BYTES = 2000
#: shared numbers per worker: the seat being called (-1: none), rounds played, the ring
#: position, then from RING on, RING_SIZE entries of (round, action 0, action 1,
#: score 0, score 1, seconds 0, seconds 1); while the worker writes, the reader trusts
#: only the RING_SIZE - 1 newest entries (the oldest slot may be in the middle of reuse)
CURRENT, ROUNDS, HEAD, RING = 0, 1, 2, 3
RING_SIZE, ENTRY = 4, 7
SHARED = RING + RING_SIZE * ENTRY


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
    """What a match reports, from a worker: rounds into shared memory (a solo series'
    episodes, one message each, by pipe), the rest by pipe."""

    def __init__(self, conn: Connection, shared: Any, action_index: dict[str, int],
                 state: MatchState) -> None:
        self.conn, self.shared, self.index, self.state = conn, shared, action_index, state

    def match_started(self, **kwargs: Any) -> None:
        self.conn.send(("started", kwargs))

    def round_played(self, *, key: str, round: int, moves: dict[str, str],
                     scores: dict[str, float]) -> None:
        if len(moves) != 2:  # a solo episode: its decision times summed over its steps
            spent = sum(e["latency_ms"][name] for e in self.state.round_log
                        if e.get("episode") == round - 1 for name in moves) / 1000
            self.conn.send(("round", {"round": round, "moves": moves, "scores": scores,
                                      "seconds": dict.fromkeys(moves, spent)}))
            return
        shared = self.shared
        head = int(shared[HEAD])
        at = RING + (head % RING_SIZE) * ENTRY
        (m0, m1), (s0, s1) = moves.values(), scores.values()
        l0, l1 = self.state.round_log[-1]["latency_ms"].values()
        shared[at:at + ENTRY] = (round, self.index[m0], self.index[m1], s0, s1,
                                 l0 / 1000, l1 / 1000)
        shared[HEAD] = head + 1


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
    # the run decides what a signal stops (a terminal's Ctrl-C, or `timeout`'s SIGTERM,
    # reaches the whole process group); the run's death ends this worker through lifeline
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs = _ForwardLogs(conn)
    logging.root.handlers = [logs]
    output = _CapturedOutput()
    adopt(setup)
    from arena.registry import registered

    registered()  # import every agent module now: a match's clock starts at its job
    conn.send(("ready", None))
    while True:
        try:
            fixture = conn.recv()
        except EOFError:
            return
        if fixture is None:
            return
        names = game_facts(config.game(fixture.game)).action_names
        state = SharedState(fixture.agents, shared)
        observer = WorkerObserver(conn, shared, {n: i for i, n in enumerate(names)}, state)
        logs.sent = logs.dropped = 0
        try:
            result = play_fixture(config, fixture, state=state, observer=observer)
        except ServiceUnavailable as exc:  # the run stops; this match stays unplayed
            conn.send(("down", " ".join(str(exc).split())))
            continue
        lines, tail = output.take()
        if lines or logs.dropped:
            conn.send(("output", {"lines": lines, "tail": tail, "logs_dropped": logs.dropped}))
        conn.send(("done", result))  # the whole record: the run saves it


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


